import type { Browser, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fieldPart, rawMultipart, storedState } from '../helpers/api.ts';
import { expectAccessible, newContext, screenshot, signIn, watchPageErrors } from '../helpers/browser.ts';
import { noisePng, solidJpeg, solidPng } from '../helpers/images.ts';
import type { TestServer } from '../helpers/server.ts';
import { serverAndBrowser } from '../helpers/web-fixture.ts';
import { webSession } from '../helpers/web-session.ts';

const fixture = serverAndBrowser();
let server: TestServer;
let browser: Browser;
beforeAll(() => {
  ({ server, browser } = fixture);
});

const PERMALINK = /^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}$/;

/** The links the upload page shows, newest first, once every upload in it has finished. */
async function finishedLinks(page: Page, count: number): Promise<string[]> {
  await expect.poll(() => page.locator('#upload-results li.done').count(), { timeout: 15_000 }).toBe(count);
  expect(await page.locator('#upload-results li.failed').count()).toBe(0);
  // Each finished upload's progress bar is full.
  for (const bar of await page.locator('#upload-results progress').all()) {
    expect(await bar.evaluate((p: HTMLProgressElement) => p.value === p.max)).toBe(true);
  }
  return page
    .locator('#upload-results li.done input[type=text]')
    .evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value));
}

/** What the API says the user owns, newest first. */
async function apiImages(token: string): Promise<Array<{ image_id: string; permalink_url: string }>> {
  const res = await fetch(`${server.url}/api/images?access_token=${token}`);
  return res.json();
}

describe('the upload page', () => {
  it('uploads by drag and drop, by paste and by the file picker, each with progress and a link ready to copy', async () => {
    const user = await server.user();
    const context = await newContext(browser);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await signIn(page, server.url, user.name, user.password);
    await page.getByRole('link', { name: 'Upload', exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Upload' }).isVisible()).toBe(true);

    // A real drop: a DataTransfer carrying a generated PNG, dispatched on the drop zone.
    const dropped = (await noisePng(400, 300, 7)).toString('base64');
    await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }));
      const zone = document.getElementById('upload-form') as HTMLElement;
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }, dropped);
    const [droppedLink] = await finishedLinks(page, 1);
    expect(droppedLink).toMatch(PERMALINK);

    // Ctrl+V anywhere: a paste event whose clipboard carries a file.
    const pasted = (await solidPng(80, 60, '#cc3344')).toString('base64');
    await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
      document.body.dispatchEvent(
        new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }),
      );
    }, pasted);
    const [pastedLink] = await finishedLinks(page, 2);

    // The picker, two files at once.
    await page.getByLabel('Choose images').setInputFiles([
      { name: 'one.png', mimeType: 'image/png', buffer: await solidPng(50, 50, '#11aa22') },
      { name: 'two.jpg', mimeType: 'image/jpeg', buffer: await solidJpeg(70, 40) },
    ]);
    const links = await finishedLinks(page, 4);
    for (const link of links) expect(link).toMatch(PERMALINK);
    expect(new Set(links).size).toBe(4);

    // Every link is the user's image, as the API lists them.
    const owned = (await apiImages(user.token)).map((i) => i.permalink_url);
    expect(owned.sort()).toEqual([...links].sort());
    expect(links).toContain(droppedLink);
    expect(links).toContain(pastedLink);

    // "Copy link" puts the permalink on the clipboard.
    const newest = page.locator('#upload-results li.done').first();
    await newest.getByRole('button', { name: 'Copy link' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(links[0]);
    await newest.getByRole('button', { name: 'Copy Markdown' }).click();
    await expect
      .poll(() => page.evaluate(() => navigator.clipboard.readText()))
      .toMatch(/^!\[[^\]]+\]\(http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}\.(png|jpg)\)$/);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('passes axe and is screenshotted at desktop and phone width, light and dark', async () => {
    const user = await server.user();
    for (const viewport of ['desktop', 'phone'] as const) {
      for (const colorScheme of ['light', 'dark'] as const) {
        const context = await newContext(browser, { viewport, colorScheme });
        const page = await context.newPage();
        const errors = watchPageErrors(page);
        await signIn(page, server.url, user.name, user.password);
        await page.goto(`${server.url}/upload`);
        await expectAccessible(page, `upload (${viewport}, ${colorScheme})`);
        await screenshot(page, `upload-empty-${viewport}-${colorScheme}`);
        await page.getByLabel('Choose images').setInputFiles([
          {
            name: 'a-screenshot-with-a-long-name-2026-12-01.png',
            mimeType: 'image/png',
            buffer: await solidPng(300, 200, '#3366aa'),
          },
        ]);
        await expect.poll(() => page.locator('#upload-results li.done').count()).toBe(1);
        await expectAccessible(page, `upload done (${viewport}, ${colorScheme})`);
        await screenshot(page, `upload-done-${viewport}-${colorScheme}`);
        expect(errors).toEqual([]);
        await context.close();
      }
    }
  });

  it('says why a file was not uploaded, and stores nothing', async () => {
    const user = await server.user();
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, server.url, user.name, user.password);
    await page.goto(`${server.url}/upload`);
    await page.getByLabel('Choose images').setInputFiles({
      name: 'notes.png',
      mimeType: 'image/png',
      buffer: Buffer.from('these are not the pixels you are looking for'),
    });
    const failed = page.locator('#upload-results li.failed');
    await expect.poll(() => failed.count()).toBe(1);
    expect(await failed.textContent()).toMatch(/Not uploaded: .+/);
    expect(await apiImages(user.token)).toEqual([]);
    await context.close();
  });

  it('works without script: the plain form posts the file and lands on its page', async () => {
    const user = await server.user();
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await signIn(page, server.url, user.name, user.password);
    await page.goto(`${server.url}/upload`);
    await page.getByLabel('Choose images').setInputFiles({
      name: 'plain.png',
      mimeType: 'image/png',
      buffer: await solidPng(64, 64, '#884422'),
    });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.waitForURL(/\/[0-9a-f]{32}$/);
    const [image] = await apiImages(user.token);
    expect(page.url()).toBe(image?.permalink_url);
    await context.close();
  });
});

describe('POST /upload', () => {
  const png = () => solidPng(40, 30, '#224466');
  const multipart = (parts: Parameters<typeof rawMultipart>[0]) => rawMultipart(parts);
  const imagePart = async () => ({
    headers: [
      'Content-Disposition: form-data; name="imagedata"; filename="x.png"',
      'Content-Type: image/png',
    ],
    body: await png(),
  });

  it('answers the image object to a script (X-CSRF-Token) and stores it for the session user', async () => {
    const user = await server.user();
    const session = await webSession(server, user.name, user.password);
    const { body, contentType } = multipart([await imagePart()]);
    const res = await session.fetch('/upload', {
      method: 'POST',
      headers: { 'content-type': contentType, 'x-csrf-token': session.csrf, accept: 'application/json' },
      body,
    });
    expect(res.status).toBe(200);
    const image = await res.json();
    expect(image.permalink_url).toMatch(PERMALINK);
    expect((await apiImages(user.token)).map((i) => i.image_id)).toEqual([image.image_id]);
  });

  it('takes the `_csrf` field sent before the file, and redirects the form to the permalink', async () => {
    const user = await server.user();
    const session = await webSession(server, user.name, user.password);
    const { body, contentType } = multipart([fieldPart('_csrf', session.csrf), await imagePart()]);
    const res = await session.fetch('/upload', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
    expect(res.status).toBe(303);
    const [image] = await apiImages(user.token);
    expect(res.headers.get('location')).toBe(`/${image?.image_id}`);
  });

  it('refuses an upload without a valid CSRF token (none, a wrong one, or one after the file), storing nothing', async () => {
    const user = await server.user();
    const session = await webSession(server, user.name, user.password);
    const other = await webSession(server, user.name, user.password);
    const before = await storedState(server);
    const attempts = [
      multipart([await imagePart()]),
      multipart([fieldPart('_csrf', 'not-a-token'), await imagePart()]),
      // Another session's token is no good in this one.
      multipart([fieldPart('_csrf', other.csrf), await imagePart()]),
      // The token must come before the image: a form that sends it after is refused unstaged.
      multipart([await imagePart(), fieldPart('_csrf', session.csrf)]),
    ];
    for (const { body, contentType } of attempts) {
      const res = await session.fetch('/upload', {
        method: 'POST',
        headers: { 'content-type': contentType },
        body,
      });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('did not come from this site');
    }
    const { body, contentType } = multipart([await imagePart()]);
    const wrongHeader = await session.fetch('/upload', {
      method: 'POST',
      headers: { 'content-type': contentType, 'x-csrf-token': other.csrf, accept: 'application/json' },
      body,
    });
    expect(wrongHeader.status).toBe(403);
    expect(await storedState(server)).toEqual(before);
  });

  it('refuses an upload without a session (a token is for /api/upload), storing nothing', async () => {
    const user = await server.user();
    const before = await storedState(server);
    const { body, contentType } = multipart([await imagePart()]);
    const res = await fetch(`${server.url}/upload?access_token=${user.token}`, {
      method: 'POST',
      headers: {
        'content-type': contentType,
        authorization: `Bearer ${user.token}`,
        accept: 'application/json',
      },
      body,
    });
    expect(res.status).toBe(401);
    expect(await storedState(server)).toEqual(before);
    // The page itself asks a visitor to sign in first, and comes back to it.
    const visit = await fetch(`${server.url}/upload`, { redirect: 'manual' });
    expect(visit.status).toBe(303);
    expect(visit.headers.get('location')).toBe('/signin?next=%2Fupload');
  });
});
