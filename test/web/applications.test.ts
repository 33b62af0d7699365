import fs from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { expectAccessible, newContext, screenshot, signIn, watchPageErrors } from '../helpers/browser.ts';
import { solidPng } from '../helpers/images.ts';
import { consent, pkcePair } from '../helpers/oauth.ts';
import { form } from '../helpers/server.ts';
import { serverAndBrowser } from '../helpers/web-fixture.ts';
import { signedInCookie } from '../helpers/web-session.ts';

const web = serverAndBrowser();

const REDIRECT = 'https://registered.example/cb';
const meStatus = async (token: string) =>
  (await fetch(`${web.server.url}/api/users/me`, { headers: { authorization: `Bearer ${token}` } })).status;

/** Exchanges a fresh code of the app (consented with `cookie`) for a token, with this secret. */
async function tokenFor(cookie: string, clientId: string, secret: string) {
  const pair = pkcePair();
  const back = await consent(web.server, cookie, {
    client_id: clientId,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope: 'public upload',
    code_challenge: pair.challenge,
    code_challenge_method: 'S256',
  });
  return fetch(`${web.server.url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: back.searchParams.get('code') as string,
      redirect_uri: REDIRECT,
      client_id: clientId,
      client_secret: secret,
      code_verifier: pair.verifier,
    }),
  });
}

/** The values in the "shown once" panel, by label. */
async function revealed(page: Page, label: string): Promise<string> {
  const panel = page.getByRole('status').filter({ has: page.getByRole('heading') });
  const value = await panel.locator(`dt:text-is("${label}") + dd code`).textContent();
  return (value ?? '').trim();
}

describe('the Applications page', () => {
  it('registers an app, renews its secret, makes, lists and revokes tokens, downloads ShareX, deletes the app', async () => {
    const user = await web.server.user('apps-user');
    const context = await newContext(web.browser, { viewport: 'desktop', colorScheme: 'light' });
    const page = await context.newPage();
    page.on('dialog', (dialog) => dialog.accept());
    const errors = watchPageErrors(page);
    await signIn(page, web.server.url, user.name, user.password);
    await page.getByRole('link', { name: 'Applications' }).click();
    await expect
      .poll(() => page.getByRole('heading', { name: 'Applications', level: 1 }).isVisible())
      .toBe(true);

    // Register an application: the secret is shown once, and works.
    await page.getByLabel('Name').fill('Team Uploader');
    await page.getByLabel(/Redirect URIs/).fill(`${REDIRECT}\nhttp://127.0.0.1:8123/cb`);
    await page.getByRole('button', { name: 'Register' }).click();
    await expect
      .poll(() => page.getByRole('heading', { name: 'Team Uploader is registered' }).isVisible())
      .toBe(true);
    const clientId = await revealed(page, 'Client ID');
    const secret = await revealed(page, 'Client secret');
    expect(clientId).toMatch(/^[0-9a-f]{32}$/);
    await expectAccessible(page, 'applications with a new secret');
    await screenshot(page, 'applications-registered-desktop-light');
    await page.goto(`${web.server.url}/applications`);
    expect(await page.content()).not.toContain(secret);
    expect(await page.getByRole('listitem').filter({ hasText: clientId }).isVisible()).toBe(true);

    const otherBrowser = await signedInCookie(web.server, user.name, user.password);
    const first = await tokenFor(otherBrowser, clientId, secret);
    expect(first.status).toBe(200);
    const appToken = (await first.json()).access_token as string;

    // A new secret: the old one stops working, the new one works; tokens already granted stay.
    await page.getByRole('button', { name: 'New secret for Team Uploader' }).click();
    const renewed = await revealed(page, 'Client secret');
    expect(renewed).not.toBe(secret);
    expect((await tokenFor(otherBrowser, clientId, secret)).status).toBe(401);
    expect((await tokenFor(otherBrowser, clientId, renewed)).status).toBe(200);
    expect(await meStatus(appToken)).toBe(200);

    // A personal access token, shown once; the list shows it and the app's, with last use.
    await page.goto(`${web.server.url}/applications`);
    await page.getByLabel(/Note/).fill('laptop script');
    await page.getByRole('button', { name: 'Create token' }).click();
    const personal = await revealed(page, 'Access token');
    expect(await meStatus(personal)).toBe(200);
    await page.goto(`${web.server.url}/applications`);
    const tokenCards = page.getByRole('list', { name: 'Your access tokens' }).getByRole('listitem');
    const personalRow = tokenCards.filter({ hasText: 'laptop script' });
    expect(await personalRow.getByText('Personal', { exact: true }).isVisible()).toBe(true);
    // Created, and last used just now (by the check above).
    expect(await personalRow.locator('time').count()).toBe(2);
    const appRows = tokenCards.filter({ hasText: 'App Team Uploader' });
    expect(await appRows.count()).toBe(2);
    await expectAccessible(page, 'applications with tokens');

    // Revoke the personal token.
    await personalRow.getByRole('button', { name: /^Revoke laptop script/ }).click();
    await expect.poll(() => page.getByText('The token is revoked.').isVisible()).toBe(true);
    expect(await meStatus(personal)).toBe(401);
    expect(await tokenCards.filter({ hasText: 'laptop script' }).count()).toBe(0);

    // ShareX: every download is a new token that uploads.
    const tokens: string[] = [];
    for (let i = 0; i < 2; i++) {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: /Download ShareX uploader/ }).click(),
      ]);
      expect(download.suggestedFilename()).toMatch(/^gazo-127\.0\.0\.1-\d+\.sxcu$/);
      const sxcu = JSON.parse(await fs.readFile(await download.path(), 'utf8'));
      expect(sxcu).toMatchObject({
        DestinationType: 'ImageUploader',
        RequestMethod: 'POST',
        RequestURL: `${web.server.url}/api/upload`,
        Body: 'MultipartFormData',
        FileFormName: 'imagedata',
        URL: '$json:permalink_url$',
        ThumbnailURL: '$json:thumb_url$',
      });
      tokens.push(sxcu.Parameters.access_token);
      // As ShareX sends it: the parameters in the query string, the file as multipart.
      const query = new URLSearchParams(sxcu.Parameters).toString();
      const upload = await fetch(`${sxcu.RequestURL}?${query}`, {
        method: sxcu.RequestMethod,
        body: form({ [sxcu.FileFormName]: { data: await solidPng(), filename: 'screenshot.png' } }),
      });
      expect(upload.status).toBe(200);
      expect((await upload.json()).permalink_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}$/);
    }
    expect(tokens[0]).not.toBe(tokens[1]);

    // Deleting the app revokes every token granted to it.
    await page.goto(`${web.server.url}/applications`);
    await page.getByRole('button', { name: 'Delete Team Uploader' }).click();
    await expect.poll(() => page.getByText(/The application is deleted/).isVisible()).toBe(true);
    expect(await meStatus(appToken)).toBe(401);
    expect(await tokenCards.filter({ hasText: 'App Team Uploader' }).count()).toBe(0);
    expect(await meStatus(tokens[0] as string)).toBe(200);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('passes axe and looks right at desktop and phone width, light and dark', async () => {
    const user = await web.server.user('apps-looks');
    const { app, clientSecret } = await web.server.rt.oauth.createApp(user.id, 'Screenshot Sync for Mac', [
      REDIRECT,
      'com.example.sync:/oauth',
    ]);
    const cookie = await signedInCookie(web.server, user.name, user.password);
    expect((await tokenFor(cookie, app.client_id, clientSecret)).status).toBe(200);
    await web.server.rt.accounts.createToken(user.name, 'backup script');
    for (const viewport of ['desktop', 'phone'] as const) {
      for (const colorScheme of ['light', 'dark'] as const) {
        const context = await newContext(web.browser, { viewport, colorScheme });
        const page = await context.newPage();
        const errors = watchPageErrors(page);
        await signIn(page, web.server.url, user.name, user.password);
        await page.goto(`${web.server.url}/applications`);
        await expectAccessible(page, `applications (${viewport}, ${colorScheme})`);
        await screenshot(page, `applications-${viewport}-${colorScheme}`);
        // A refused registration says why, keeps what was typed, and is accessible too.
        await page.getByLabel('Name').fill('Bad one');
        await page.getByLabel(/Redirect URIs/).fill('javascript:alert(1)');
        await page.getByRole('button', { name: 'Register' }).click();
        await expect.poll(() => page.getByRole('alert').textContent()).toContain('javascript:');
        expect(await page.getByLabel('Name').inputValue()).toBe('Bad one');
        await expectAccessible(page, `applications error (${viewport}, ${colorScheme})`);
        if (viewport === 'phone') await screenshot(page, `applications-error-${viewport}-${colorScheme}`);
        expect(errors).toEqual([]);
        await context.close();
      }
    }
    expect((await web.server.rt.oauth.listApps(user.id)).length).toBe(1);
  });

  it("refuses posts without a CSRF token, and another user's tokens and apps are not theirs to touch", async () => {
    const owner = await web.server.user('apps-owner');
    const intruder = await web.server.user('apps-intruder');
    const { app } = await web.server.rt.oauth.createApp(owner.id, 'Owned', [REDIRECT]);
    const [tokenRow] = await web.server.rt.oauth.listTokens(owner.id);
    const cookie = await signedInCookie(web.server, intruder.name, intruder.password);
    const page = await fetch(`${web.server.url}/applications`, { headers: { cookie } });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] as string;
    const post = (path: string, body: Record<string, string>) =>
      fetch(`${web.server.url}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
        body: new URLSearchParams(body),
      });
    expect((await post('/applications/tokens', { name: 'x' })).status).toBe(403);
    expect((await post('/applications/sharex', {})).status).toBe(403);
    expect((await web.server.rt.oauth.listTokens(intruder.id)).length).toBe(1);
    for (const path of [
      `/applications/tokens/${tokenRow?.id}/revoke`,
      `/applications/apps/${app.id}/delete`,
      `/applications/apps/${app.id}/secret`,
    ]) {
      expect((await post(path, { _csrf: csrf })).status, path).toBe(404);
    }
    expect(await meStatus(owner.token)).toBe(200);
    expect((await web.server.rt.oauth.listApps(owner.id)).length).toBe(1);
    // Signed out, the page asks for sign-in.
    const signedOut = await fetch(`${web.server.url}/applications`, { redirect: 'manual' });
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.get('location')).toBe('/signin?next=%2Fapplications');
  });
});
