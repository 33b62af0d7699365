import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oauth from 'oauth4webapi';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectAccessible,
  launchBrowser,
  newContext,
  screenshot,
  watchPageErrors,
} from '../helpers/browser.ts';
import { solidPng } from '../helpers/images.ts';
import { form, startServer, type TestServer } from '../helpers/server.ts';

/**
 * The whole OAuth 2 authorization-code flow as a third-party app lives it: oauth4webapi (a real
 * client library) makes the authorization URL and exchanges the code; a real browser signs in
 * and answers the consent page; the app's callback is a real HTTP server on another origin.
 */
let server: TestServer;
let browser: Browser;
let callback: http.Server;
let redirectUri: string;
let user: Awaited<ReturnType<TestServer['user']>>;
let client: oauth.Client;
let clientAuth: oauth.ClientAuth;
let as: oauth.AuthorizationServer;
const insecure = { [oauth.allowInsecureRequests]: true };

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  callback = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><html lang="en"><title>App</title><h1>Back in the app</h1></html>');
  });
  await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
  redirectUri = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
  user = await server.user('flow-user');
  const owner = await server.user('app-maker');
  const { app, clientSecret } = await server.rt.oauth.createApp(owner.id, 'Screenshot Helper', [redirectUri]);
  client = { client_id: app.client_id };
  clientAuth = oauth.ClientSecretPost(clientSecret);
  as = {
    issuer: server.url,
    authorization_endpoint: `${server.url}/oauth/authorize`,
    token_endpoint: `${server.url}/oauth/token`,
  };
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
  await new Promise((resolve) => callback?.close(resolve));
});

async function startAuthorization(scope: string | undefined) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint as string);
  url.searchParams.set('client_id', client.client_id);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('response_type', 'code');
  if (scope !== undefined) url.searchParams.set('scope', scope);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  return { url, verifier, state };
}

/** Opens the app's authorization link signed out: sign in, then the consent page. */
async function reachConsent(page: Page, url: URL) {
  await page.goto(url.toString());
  await expect.poll(() => page.getByRole('heading', { name: 'Sign in' }).isVisible()).toBe(true);
  await page.getByLabel('User name').fill(user.name);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect
    .poll(() => page.getByRole('heading', { name: /Allow Screenshot Helper/ }).isVisible())
    .toBe(true);
}

async function exchange(callbackUrl: URL, state: string, verifier: string) {
  const params = oauth.validateAuthResponse(as, client, callbackUrl, state);
  const response = await oauth.authorizationCodeGrantRequest(
    as,
    client,
    clientAuth,
    params,
    redirectUri,
    verifier,
    insecure,
  );
  return oauth.processAuthorizationCodeResponse(as, client, response);
}

const uploadWith = async (token: string) =>
  fetch(`${server.url}/api/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form({ imagedata: { data: await solidPng() } }),
  });

describe('the OAuth flow in a browser', () => {
  it('signs in, asks for consent, and gives the app a token for what the user allowed', async () => {
    const runs = [
      { viewport: 'desktop', colorScheme: 'light', scope: 'public upload', decision: 'allow' },
      { viewport: 'phone', colorScheme: 'dark', scope: undefined, decision: 'allow' },
      { viewport: 'desktop', colorScheme: 'dark', scope: 'public', decision: 'deny' },
      { viewport: 'phone', colorScheme: 'light', scope: 'upload public', decision: 'keyboard' },
    ] as const;
    for (const run of runs) {
      const label = `${run.viewport}-${run.colorScheme}`;
      const context = await newContext(browser, run);
      const page = await context.newPage();
      const errors = watchPageErrors(page);
      const { url, verifier, state } = await startAuthorization(run.scope);
      await reachConsent(page, url);
      const wantsUpload = run.scope?.includes('upload') ?? false;
      expect(await page.getByText('Upload images to your account').isVisible()).toBe(wantsUpload);
      expect(await page.getByText(/See your account and your images/).isVisible()).toBe(true);
      await expectAccessible(page, `consent (${label})`);
      await screenshot(page, `oauth-consent-${label}`);

      if (run.decision === 'deny') {
        await page.getByRole('button', { name: 'Deny' }).click();
      } else if (run.decision === 'keyboard') {
        await page.getByRole('button', { name: 'Allow' }).focus();
        await page.keyboard.press('Enter');
      } else {
        await page.getByRole('button', { name: 'Allow' }).click();
      }
      await page.waitForURL((u) => u.toString().startsWith(redirectUri));
      const back = new URL(page.url());
      expect(back.searchParams.get('state')).toBe(state);
      if (run.decision === 'deny') {
        expect(back.searchParams.get('error')).toBe('access_denied');
        expect(back.searchParams.get('code')).toBeNull();
      } else {
        const token = await exchange(back, state, verifier);
        expect(token.token_type).toBe('bearer');
        expect(token.scope).toBe(wantsUpload ? 'public upload' : 'public');
        const me = await fetch(`${server.url}/api/users/me`, {
          headers: { authorization: `Bearer ${token.access_token}` },
        });
        expect(me.status).toBe(200);
        expect((await me.json()).user.name).toBe(user.name);
        const upload = await uploadWith(token.access_token);
        expect(upload.status).toBe(wantsUpload ? 200 : 403);
      }
      expect(errors).toEqual([]);
      await context.close();
    }
  });
});
