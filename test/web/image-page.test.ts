import type { Browser } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible, newContext, screenshot, signIn, watchPageErrors } from '../helpers/browser.ts';
import { noisePng, solidPng } from '../helpers/images.ts';
import type { TestServer } from '../helpers/server.ts';
import { serverAndBrowser } from '../helpers/web-fixture.ts';
import { webSession } from '../helpers/web-session.ts';

const fixture = serverAndBrowser();
let server: TestServer;
let browser: Browser;
beforeAll(() => {
  ({ server, browser } = fixture);
});

async function ownedImage(meta: Parameters<TestServer['rt']['uploads']['upload']>[2] = {}) {
  const user = await server.user();
  const row = await server.rt.uploads.upload(user.id, await noisePng(240, 160, 3), {
    title: 'Whiteboard',
    desc: 'From the meeting',
    ...meta,
  });
  return { user, id: row.image_id };
}

const apiImage = async (token: string, id: string) =>
  (await fetch(`${server.url}/api/images/${id}?access_token=${token}`)).json();

describe('the image page for its owner', () => {
  it('edits the title, description and alt text, and who can see it; the API shows the changes', async () => {
    const { user, id } = await ownedImage();
    const context = await newContext(browser);
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await signIn(page, server.url, user.name, user.password);
    await page.goto(`${server.url}/${id}`);
    await page.getByLabel('Title', { exact: true }).fill('Sprint board');
    await page.getByLabel('Description', { exact: true }).fill('Columns: to do, doing, done');
    await page
      .getByLabel('Alt text', { exact: true })
      .fill('A whiteboard with three columns of sticky notes');
    await page.getByRole('button', { name: 'Save details' }).click();
    await page.waitForURL(`${server.url}/${id}?done=saved`);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Saved.' }).count()).toBe(1);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sprint board');
    // The alt text is the image's text alternative, here and in the gallery.
    expect(await page.locator('.image-view img').getAttribute('alt')).toBe(
      'A whiteboard with three columns of sticky notes',
    );
    let image = await apiImage(user.token, id);
    expect(image.metadata).toMatchObject({ title: 'Sprint board', desc: 'Columns: to do, doing, done' });
    expect(image.alt_text).toBe('A whiteboard with three columns of sticky notes');

    await page.getByLabel('Only me').check();
    await page.getByLabel(/Show the title/).uncheck();
    await page.getByRole('button', { name: 'Save who can see it' }).click();
    await page.waitForURL(`${server.url}/${id}?done=settings`);
    image = await apiImage(user.token, id);
    expect(image.access_policy).toBe('only_me');
    const row = await server.rt.store.images.findByImageId(id);
    expect(row?.metadata_is_public).toBe(false);
    // Its owner still sees it: the file loads through the session.
    const img = page.locator('.image-view img');
    await expect.poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth)).toBe(240);
    await page.goto(server.url);
    const thumb = page.locator(`#image-${id} img`);
    expect(await thumb.getAttribute('alt')).toBe('A whiteboard with three columns of sticky notes');
    await expect
      .poll(() => thumb.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth))
      .toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('deletes the image from its page after the dialog confirms it', async () => {
    const { user, id } = await ownedImage();
    const context = await newContext(browser);
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await signIn(page, server.url, user.name, user.password);
    await page.goto(`${server.url}/${id}`);
    await page.getByRole('button', { name: 'Delete this image' }).click();
    await page
      .getByRole('dialog', { name: 'Delete this image?' })
      .getByRole('button', { name: 'Delete' })
      .click();
    await page.waitForURL(`${server.url}/?done=deleted`);
    await expect.poll(() => page.getByText('The image was deleted.').isVisible()).toBe(true);
    expect((await fetch(`${server.url}/api/images/${id}?access_token=${user.token}`)).status).toBe(404);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows an only_me image to its owner alone: 404 for another signed-in user and for a visitor', async () => {
    const { user, id } = await ownedImage({ accessPolicy: 'only_me' });
    const stranger = await server.user();
    const row = await server.rt.store.images.findByImageId(id);
    const files = [`/${id}`, `/${id}.png`, `/${id}/raw`, `/thumb/${server.rt.urls.thumbSize}/${id}.png`];
    const owner = await webSession(server, user.name, user.password);
    const other = await webSession(server, stranger.name, stranger.password);
    // Each body is read: a streamed original left unread holds its connection open.
    const status = async (res: Promise<Response>) => {
      const r = await res;
      await r.arrayBuffer();
      return r.status;
    };
    for (const path of files) {
      expect(await status(owner.fetch(path)), `owner ${path}`).toBe(200);
      expect(await status(other.fetch(path)), `other user ${path}`).toBe(404);
      expect(await status(fetch(`${server.url}${path}`)), `visitor ${path}`).toBe(404);
    }
    expect(row?.type).toBe('png');

    // In a browser: the owner sees the image, the stranger the not-found page.
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, server.url, stranger.name, stranger.password);
    const res = await page.goto(`${server.url}/${id}`);
    expect(res?.status()).toBe(404);
    expect(await page.locator('form').count()).toBe(0);
    await context.close();
  });

  it('leaves visitors and other users the public permalink page, without forms or script', async () => {
    const { user, id } = await ownedImage({ metadataIsPublic: true });
    const stranger = await server.user();
    const principal = await server.rt.accounts.authenticateToken(user.token);
    if (!principal) throw new Error('no principal');
    await server.rt.images.edit(principal, id, { altText: 'A chart of the quarter' });
    const other = await webSession(server, stranger.name, stranger.password);
    for (const res of [await fetch(`${server.url}/${id}`), await other.fetch(`/${id}`)]) {
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain('type="application/json+oembed"');
      expect(html).toContain('property="og:image"');
      expect(html).not.toContain('<form');
      expect(html).not.toContain('<script');
      // The owner's alt text is the image's alt there too.
      expect(html).toMatch(/<img [^>]*alt="A chart of the quarter"/);
      expect(res.headers.get('content-security-policy')).toContain("form-action 'none'");
    }
  });

  it("refuses CSRF-less posts and another user's image, changing nothing", async () => {
    const { user, id } = await ownedImage();
    const owner = await webSession(server, user.name, user.password);
    const stranger = await server.user();
    const other = await webSession(server, stranger.name, stranger.password);
    const before = await server.rt.store.images.findByImageId(id);
    const edit = { title: 'Owned', desc: 'x', alt_text: 'y' };
    const settings = { access_policy: 'only_me' };
    for (const [path, fields] of [
      [`/${id}/edit`, edit],
      [`/${id}/settings`, settings],
      [`/${id}/delete`, { confirm: 'yes' }],
    ] as const) {
      expect((await owner.post(path, fields, { csrf: false })).status, `no token ${path}`).toBe(403);
      expect(
        (await owner.post(path, { ...fields, _csrf: other.csrf }, { csrf: false })).status,
        `other token ${path}`,
      ).toBe(403);
      expect((await other.post(path, fields)).status, `other user ${path}`).toBe(404);
      // A visitor's form post: no session, so no token either.
      const visitor = await fetch(`${server.url}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });
      expect(visitor.status, `visitor ${path}`).toBe(403);
    }
    expect(await server.rt.store.images.findByImageId(id)).toEqual(before);
    // With its token, the owner's post does what it says.
    expect((await owner.post(`/${id}/edit`, edit)).status).toBe(303);
    expect((await apiImage(user.token, id)).metadata.title).toBe('Owned');
  });

  it('passes axe and is screenshotted at desktop and phone width, light and dark', async () => {
    const { user, id } = await ownedImage({
      desc: 'A long description of what happened at the meeting, so that the field has to wrap on a phone.',
    });
    const small = await server.rt.uploads.upload(user.id, await solidPng(60, 40, '#aa3366'), {
      accessPolicy: 'only_me',
    });
    for (const viewport of ['desktop', 'phone'] as const) {
      for (const colorScheme of ['light', 'dark'] as const) {
        const label = `${viewport}-${colorScheme}`;
        const context = await newContext(browser, { viewport, colorScheme });
        const page = await context.newPage();
        const errors = watchPageErrors(page);
        await signIn(page, server.url, user.name, user.password);
        await page.goto(`${server.url}/${id}?done=saved`);
        await expectAccessible(page, `image page ${label}`);
        await screenshot(page, `image-owner-${label}`);
        await page.goto(`${server.url}/${small.image_id}`);
        await expectAccessible(page, `only_me image page ${label}`);
        await screenshot(page, `image-owner-only-me-${label}`);
        await page.goto(`${server.url}/${id}/delete`);
        await expectAccessible(page, `delete confirmation ${label}`);
        await screenshot(page, `image-delete-confirm-${label}`);
        expect(errors).toEqual([]);
        await context.close();
      }
    }
  });
});
