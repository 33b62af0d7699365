import type { Browser, BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { PER_PAGE } from '../../src/http/web/pages/my-images.ts';
import { expectAccessible, newContext, screenshot, signIn, watchPageErrors } from '../helpers/browser.ts';
import { solidPng } from '../helpers/images.ts';
import type { TestServer } from '../helpers/server.ts';
import { serverAndBrowser } from '../helpers/web-fixture.ts';
import { webSession } from '../helpers/web-session.ts';

const fixture = serverAndBrowser();
let server: TestServer;
let browser: Browser;
beforeAll(() => {
  ({ server, browser } = fixture);
});

const COUNT = PER_PAGE + 7;
const DAY = 86_400_000;

/** A user with more than a page of images, made through the service (cheap), one a day, oldest first. */
async function userWithImages(count = COUNT) {
  const user = await server.user();
  const start = Date.UTC(2026, 0, 1);
  const ids: string[] = [];
  const png = await solidPng(32, 24, '#4477aa');
  for (let i = 0; i < count; i++) {
    const row = await server.rt.uploads.upload(user.id, png, {
      createdAt: start + i * DAY,
      title: i === 3 ? 'Quarterly chart' : `Screenshot ${i}`,
      desc: i === 5 ? 'the whiteboard from the planning meeting' : '',
    });
    ids.push(row.image_id);
  }
  // Newest first, as the gallery shows them.
  return { user, ids: ids.reverse() };
}

const galleryIds = (page: Page) =>
  page.locator('#gallery > li').evaluateAll((items) => items.map((li) => li.id.replace('image-', '')));

async function signedIn(
  user: { name: string; password: string },
  options: Parameters<typeof newContext>[1] = {},
) {
  const context = await newContext(browser, options);
  const page = await context.newPage();
  const errors = watchPageErrors(page);
  await signIn(page, server.url, user.name, user.password);
  return { context, page, errors };
}

describe('my images', () => {
  it('shows the images newest first and loads the next page as you scroll', async () => {
    const { user, ids } = await userWithImages();
    const { context, page, errors } = await signedIn(user);
    await expect.poll(() => page.getByRole('heading', { name: 'My images' }).isVisible()).toBe(true);
    expect(await galleryIds(page)).toEqual(ids.slice(0, PER_PAGE));
    await page.locator('.pager').scrollIntoViewIfNeeded();
    await expect.poll(() => galleryIds(page)).toEqual(ids);
    await expect.poll(() => page.locator('.pager').count()).toBe(0);
    // Thumbnails load (the session is enough for the files).
    const last = page.locator('#gallery > li').last().locator('img');
    await last.scrollIntoViewIfNeeded();
    await expect.poll(() => last.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('has a "More" link that works without script', async () => {
    const { user, ids } = await userWithImages(PER_PAGE + 2);
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await signIn(page, server.url, user.name, user.password);
    await page.getByRole('link', { name: 'More' }).click();
    await page.waitForURL(/\?page=2$/);
    expect(await galleryIds(page)).toEqual(ids.slice(PER_PAGE));
    // The copy buttons need the script: without it they are not offered.
    expect(await page.getByRole('button', { name: /Copy link/ }).count()).toBe(0);
    await context.close();
  });

  it('searches by title and by description, from the search box, /?q= and /search?q=', async () => {
    const { user, ids } = await userWithImages();
    const { context, page, errors } = await signedIn(user);
    await page.getByRole('searchbox', { name: 'Search your images' }).fill('quarterly');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/search\?q=quarterly/);
    expect(await galleryIds(page)).toEqual([ids[COUNT - 1 - 3]]);
    await expect.poll(() => page.getByText('1 image matches').isVisible()).toBe(true);
    await page.goto(`${server.url}/?q=${encodeURIComponent('whiteboard planning')}`);
    expect(await galleryIds(page)).toEqual([ids[COUNT - 1 - 5]]);
    // Results load more the same way: every "Screenshot" but the two above.
    await page.goto(`${server.url}/search?q=screenshot`);
    expect(await galleryIds(page)).toHaveLength(PER_PAGE);
    await page.locator('.pager').scrollIntoViewIfNeeded();
    await expect.poll(() => galleryIds(page)).toEqual(ids.filter((id) => id !== ids[COUNT - 4]));
    // A query the language cannot read is explained beside the box.
    await page.goto(`${server.url}/search?q=${encodeURIComponent('since:yesterday')}`);
    await expect.poll(() => page.locator('#search-help .error').isVisible()).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('copies the link and the Markdown, and shows the text to copy when the clipboard is not allowed', async () => {
    const { user, ids } = await userWithImages(2);
    const { context, page } = await signedIn(user);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const first = page.locator(`#image-${ids[0]}`);
    await first.getByRole('button', { name: /^Copy link/ }).click();
    await expect
      .poll(() => page.evaluate(() => navigator.clipboard.readText()))
      .toBe(`${server.url}/${ids[0]}`);
    await first.getByRole('button', { name: /^Copy Markdown/ }).click();
    await expect
      .poll(() => page.evaluate(() => navigator.clipboard.readText()))
      .toBe(`![Screenshot 1](${server.url}/${ids[0]}.png)`);
    await context.close();

    const blocked = await newContext(browser);
    await blocked.addInitScript(() => Object.defineProperty(navigator, 'clipboard', { value: undefined }));
    const page2 = await blocked.newPage();
    await signIn(page2, server.url, user.name, user.password);
    await page2
      .locator(`#image-${ids[1]}`)
      .getByRole('button', { name: /^Copy link/ })
      .click();
    const fallback = page2.locator(`#image-${ids[1]} .copy-fallback`);
    await expect.poll(() => fallback.inputValue()).toBe(`${server.url}/${ids[1]}`);
    await expect.poll(() => page2.getByRole('status').filter({ hasText: 'press Ctrl+C' }).count()).toBe(1);
    await blocked.close();
  });

  it('deletes an image after the dialog confirms it, and not when it is cancelled', async () => {
    const { user, ids } = await userWithImages(3);
    const { context, page, errors } = await signedIn(user);
    const target = page.locator(`#image-${ids[1]}`);
    await target.getByRole('button', { name: /^Delete/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this image?' });
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    expect(await galleryIds(page)).toEqual(ids);
    expect((await fetch(`${server.url}/api/images/${ids[1]}?access_token=${user.token}`)).status).toBe(200);

    await target.getByRole('button', { name: /^Delete/ }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => galleryIds(page)).toEqual([ids[0], ids[2]]);
    expect((await fetch(`${server.url}/api/images/${ids[1]}?access_token=${user.token}`)).status).toBe(404);
    await page.reload();
    expect(await galleryIds(page)).toEqual([ids[0], ids[2]]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('deletes without script through a confirmation page', async () => {
    const { user, ids } = await userWithImages(2);
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await signIn(page, server.url, user.name, user.password);
    await page
      .locator(`#image-${ids[0]}`)
      .getByRole('button', { name: /^Delete/ })
      .click();
    await expect.poll(() => page.getByRole('heading', { name: 'Delete this image?' }).isVisible()).toBe(true);
    expect((await fetch(`${server.url}/api/images/${ids[0]}?access_token=${user.token}`)).status).toBe(200);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/\/\?done=deleted$/);
    await expect.poll(() => page.getByText('The image was deleted.').isVisible()).toBe(true);
    expect(await galleryIds(page)).toEqual([ids[1]]);
    expect((await fetch(`${server.url}/api/images/${ids[0]}?access_token=${user.token}`)).status).toBe(404);
    await context.close();
  });

  it("refuses a delete without the CSRF token, and another user's image through these routes", async () => {
    const { user, ids } = await userWithImages(1);
    const owner = await webSession(server, user.name, user.password);
    const refused = await owner.post(`/${ids[0]}/delete`, { confirm: 'yes' }, { csrf: false });
    expect(refused.status).toBe(403);
    const stranger = await server.user();
    const other = await webSession(server, stranger.name, stranger.password);
    const notTheirs = await other.post(`/${ids[0]}/delete`, { confirm: 'yes' });
    expect(notTheirs.status).toBe(404);
    expect((await other.fetch(`/${ids[0]}/delete`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/images/${ids[0]}?access_token=${user.token}`)).status).toBe(200);
    // The owner's own token-carrying request is what deletes it.
    expect((await owner.post(`/${ids[0]}/delete`, { confirm: 'yes' })).status).toBe(303);
    expect((await fetch(`${server.url}/api/images/${ids[0]}?access_token=${user.token}`)).status).toBe(404);
  });

  it('passes axe and is screenshotted at desktop and phone width, light and dark', async () => {
    const { user } = await userWithImages();
    const empty = await server.user();
    for (const viewport of ['desktop', 'phone'] as const) {
      for (const colorScheme of ['light', 'dark'] as const) {
        const label = `${viewport}-${colorScheme}`;
        const { context, page, errors } = await signedIn(user, { viewport, colorScheme });
        await expectAccessible(page, `gallery ${label}`);
        await screenshot(page, `gallery-${label}`);
        await page.goto(`${server.url}/search?q=quarterly`);
        await expectAccessible(page, `search ${label}`);
        await screenshot(page, `gallery-search-${label}`);
        await page
          .locator('#gallery > li')
          .first()
          .getByRole('button', { name: /^Delete/ })
          .click();
        await expectAccessible(page, `delete dialog ${label}`);
        await screenshot(page, `gallery-delete-dialog-${label}`);
        await page.keyboard.press('Escape');
        expect(errors).toEqual([]);
        await context.close();
        await emptyGallery(empty, viewport, colorScheme, label);
      }
    }
  });
});

async function emptyGallery(
  user: { name: string; password: string },
  viewport: 'desktop' | 'phone',
  colorScheme: 'light' | 'dark',
  label: string,
) {
  const { context, page }: { context: BrowserContext; page: Page } = await signedIn(user, {
    viewport,
    colorScheme,
  });
  await expect.poll(() => page.getByText('No images yet.').isVisible()).toBe(true);
  await expectAccessible(page, `empty gallery ${label}`);
  await screenshot(page, `gallery-empty-${label}`);
  await context.close();
}
