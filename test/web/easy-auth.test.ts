import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClientApps } from '../../src/services/client-apps.ts';
import { jsonOf } from '../helpers/api.ts';
import {
  expectAccessible,
  launchBrowser,
  newContext,
  screenshot,
  signIn,
  watchPageErrors,
} from '../helpers/browser.ts';
import { solidPng } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

const CLIENT_ID = 'another-site';

/**
 * A page on another origin (another port of 127.0.0.1) that does what an easy_auth caller does:
 * draws an image, posts it with the browser's credentials, and opens the link it gets.
 */
function anotherSite(gazo: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Another site</title></head>
<body><h1>Another site</h1><button id="send">Send to Gazo</button>
<script>
document.getElementById('send').addEventListener('click', async () => {
  const canvas = document.createElement('canvas');
  canvas.width = 40;
  canvas.height = 30;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#cc0033';
  ctx.fillRect(0, 0, 40, 30);
  const body = new URLSearchParams({
    client_id: ${JSON.stringify(CLIENT_ID)},
    image_url: canvas.toDataURL('image/png'),
    referer_url: encodeURIComponent(location.href),
    title: 'From another origin',
  });
  const res = await fetch(${JSON.stringify(`${gazo}/api/upload/easy_auth`)}, { method: 'POST', credentials: 'include', body });
  const answer = await res.json();
  location.href = answer.get_image_url;
});
</script></body></html>`;
}

let server: TestServer;
let site: http.Server;
let siteUrl: string;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startServer({}, undefined, {
      runtime: {
        clientApps: fixedClientApps([{ clientId: CLIENT_ID, name: 'Another site' }]),
        // Long enough for a busy machine to go from the post to the link; short enough to wait out.
        easyAuthTimes: { claimWindowMs: 5000, signInWindowMs: 60_000 },
      },
    }),
    launchBrowser(),
  ]);
  site = http.createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end(anotherSite(server.url));
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/page`;
});
afterAll(async () => {
  await browser?.close();
  site?.close();
  await server?.close();
});

const PERMALINK = /^http:\/\/127\.0\.0\.1:\d+\/([a-f0-9]{32})$/;

async function imageOf(token: string, url: string) {
  const id = PERMALINK.exec(url)?.[1];
  return jsonOf(await fetch(`${server.url}/api/images/${id}?access_token=${token}`));
}

describe('easy_auth from a page on another origin, in a real browser', () => {
  it('a signed-in browser posts cross-origin with credentials, opens the link and lands on the permalink', async () => {
    const user = await server.user();
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, server.url, user.name, user.password);
    await page.goto(siteUrl);
    const errors = watchPageErrors(page);
    await page.getByRole('button', { name: 'Send to Gazo' }).click();
    await page.waitForURL(PERMALINK);
    expect(new URL(page.url()).origin).toBe(server.url);
    expect(errors).toEqual([]);
    const image = await imageOf(user.token, page.url());
    expect(image.metadata).toMatchObject({ title: 'From another origin', url: siteUrl });
    await context.close();
  });

  it('a browser that is not signed in signs in on the way and then gets the image', async () => {
    const user = await server.user();
    const context = await newContext(browser, { viewport: 'phone' });
    const page = await context.newPage();
    await page.goto(siteUrl);
    await page.getByRole('button', { name: 'Send to Gazo' }).click();
    await page.waitForURL((url) => url.pathname === '/signin');
    await page.getByLabel('User name').fill(user.name);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(PERMALINK);
    const image = await imageOf(user.token, page.url());
    expect(image.metadata.title).toBe('From another origin');
    await context.close();
  });

  it('an expired link shows an error page (accessible, light and dark) and the image is gone', async () => {
    const user = await server.user();
    const png = await solidPng(10, 10, '#333333');
    const res = await fetch(`${server.url}/api/upload/easy_auth`, {
      method: 'POST',
      body: new URLSearchParams({
        client_id: CLIENT_ID,
        image_url: `data:image/png;base64,${png.toString('base64')}`,
      }),
    });
    const { get_image_url } = await jsonOf(res);
    await new Promise((r) => setTimeout(r, 5500));
    for (const colorScheme of ['light', 'dark'] as const) {
      for (const viewport of ['desktop', 'phone'] as const) {
        const context = await newContext(browser, { viewport, colorScheme });
        const page = await context.newPage();
        await signIn(page, server.url, user.name, user.password);
        const answer = await page.goto(get_image_url);
        expect(answer?.status()).toBe(404);
        await expect.poll(() => page.getByText('This upload link').first().isVisible()).toBe(true);
        await expectAccessible(page, `expired claim (${viewport}, ${colorScheme})`);
        await screenshot(page, `easy-auth-expired-${viewport}-${colorScheme}`);
        await context.close();
      }
    }
    expect(await server.rt.store.heldImages.blobKeys()).toEqual([]);
  });
});
