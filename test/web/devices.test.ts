import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gyazoForLinuxUpload, jsonOf } from '../helpers/api.ts';
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

const SCHEMES = ['light', 'dark'] as const;
const VIEWPORTS = ['desktop', 'phone'] as const;

/** An upload exactly as Gyazo for Linux sends it, of a fresh colour each time (no dedupe). */
async function gyazoForLinux(server: TestServer, id: string, title: string) {
  const colour = `#${Math.floor(Math.random() * 0xffffff)
    .toString(16)
    .padStart(6, '0')}`;
  const metadata = JSON.stringify({ app: 'xterm', title, url: '', note: title });
  return gyazoForLinuxUpload(server.url, { id, metadata }, await solidPng(32, 24, colour));
}

const imagesOf = async (server: TestServer, token: string) =>
  jsonOf<Array<{ metadata: { title: string } }>>(
    await fetch(`${server.url}/api/images?access_token=${token}`),
  );

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(() => browser?.close());

describe('legacy clients without a device id (--legacy-anonymous-devices)', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ legacyAnonymousDevices: true }, undefined, {
      runtime: { anonymousDeviceLimits: { devicesPerAddressPerDay: 3, heldUploadsPerDevice: 2 } },
    });
  });
  afterAll(() => server?.close());

  it('makes a device on an empty id; its uploads are seen by nobody until a signed-in browser links it', async () => {
    const first = await gyazoForLinux(server, '', 'first capture');
    expect(first.status, first.text).toBe(200);
    expect(first.id).toMatch(/^[0-9a-f]{40}$/);
    expect(first.token).toBeTruthy();
    expect(first.text).toMatch(new RegExp(`^${server.config.urls.web}/[0-9a-f]{32}$`));
    const second = await gyazoForLinux(server, first.id ?? '', 'second capture');
    expect(second.status).toBe(200);
    expect(second.id).toBe(first.id);
    expect(second.token).not.toBe(first.token);
    // Unlisted and unseen meanwhile: no image row, the permalink is not found.
    expect(await server.imageCount()).toBe(0);
    expect((await fetch(second.text)).status).toBe(404);

    // The client opens `<permalink>?token=…`; this browser is not signed in yet.
    const user = await server.user();
    const linkUrl = `${second.text}?token=${second.token}`;
    for (const viewport of VIEWPORTS) {
      for (const colorScheme of SCHEMES) {
        const context = await newContext(browser, { viewport, colorScheme });
        const page = await context.newPage();
        const errors = watchPageErrors(page);
        await page.goto(linkUrl);
        await page.waitForURL((url) => url.pathname === '/signin');
        await page.getByLabel('User name').fill(user.name);
        await page.getByLabel('Password').fill(user.password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await expect
          .poll(() => page.getByRole('heading', { name: 'Link this desktop client?' }).isVisible())
          .toBe(true);
        // Opening the link changes nothing by itself (a site could make a browser open it).
        expect(await server.imageCount()).toBe(0);
        await expectAccessible(page, `device link (${viewport}, ${colorScheme})`);
        await screenshot(page, `device-link-${viewport}-${colorScheme}`);
        // The last look links it (the link is spent then).
        if (viewport === 'phone' && colorScheme === 'dark') {
          await page.getByRole('button', { name: 'Link this device' }).click();
          await page.waitForURL(second.text);
          await expect.poll(() => page.locator('img').first().isVisible()).toBe(true);
        }
        expect(errors).toEqual([]);
        await context.close();
      }
    }

    // Both uploads so far are the user's; the device id now uploads straight to them.
    const titles = (await imagesOf(server, user.token)).map((i) => i.metadata.title).sort();
    expect(titles).toEqual(['first capture', 'second capture']);
    const third = await gyazoForLinux(server, first.id ?? '', 'third capture');
    expect(third.status).toBe(200);
    expect(third.token).toBeNull();
    expect(third.id).toBe(first.id);
    expect((await imagesOf(server, user.token)).length).toBe(3);
    expect((await server.rt.devices.list({ userId: user.id } as never)).map((d) => d.device_prefix)).toEqual([
      first.id?.slice(0, 6),
    ]);
  });

  it('bounds what a client without an account can leave: devices per address, uploads waiting per device', async () => {
    const device = await gyazoForLinux(server, '', 'one');
    expect(device.status).toBe(200);
    expect((await gyazoForLinux(server, device.id ?? '', 'two')).status).toBe(200);
    const tooMany = await gyazoForLinux(server, device.id ?? '', 'three');
    expect(tooMany.status).toBe(429);
    expect(tooMany.text).toContain('uploads waiting');
    // Three unlinked devices from one address at most (the first test's device is linked: it
    // belongs to someone now and counts no more).
    expect((await gyazoForLinux(server, '', 'another device')).status).toBe(200);
    expect((await gyazoForLinux(server, '', 'a third device')).status).toBe(200);
    const refused = await gyazoForLinux(server, '', 'one device too many');
    expect(refused.status).toBe(429);
    expect(refused.text).toContain('Too many new devices');
    expect(await server.imageCount()).toBe(3);
    expect((await server.rt.store.heldImages.blobKeys()).length).toBe(4);
  });

  it('refuses an unknown device id (401)', async () => {
    expect((await gyazoForLinux(server, 'f'.repeat(40), 'x')).status).toBe(401);
  });
});

describe('the Devices page', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server?.close());

  it('keeps the 401 for an empty id while anonymous devices are off (the default)', async () => {
    const res = await gyazoForLinux(server, '', 'anonymous');
    expect(res.status).toBe(401);
    expect(res.token).toBeNull();
  });

  it('creates a device id (shown once), lists it with its last use, and revokes it', async () => {
    const user = await server.user();
    let deviceId = '';
    for (const viewport of VIEWPORTS) {
      for (const colorScheme of SCHEMES) {
        const context = await newContext(browser, { viewport, colorScheme });
        const page = await context.newPage();
        const errors = watchPageErrors(page);
        await signIn(page, server.url, user.name, user.password);
        await page.getByRole('link', { name: 'Devices' }).click();
        await page.waitForURL(`${server.url}/devices`);
        if (!deviceId) {
          // By keyboard: the button is reachable and labelled.
          await page.getByRole('button', { name: 'Create a device id' }).focus();
          await page.keyboard.press('Enter');
          await expect
            .poll(() => page.getByRole('heading', { name: 'Your new device id' }).isVisible())
            .toBe(true);
          deviceId = (await page.locator('#new-device-id').textContent()) ?? '';
          expect(deviceId).toMatch(/^[0-9a-f]{40}$/);
          await expect.poll(() => page.getByText('~/.gyazo.id').first().isVisible()).toBe(true);
          await expectAccessible(page, `new device (${viewport}, ${colorScheme})`);
          await screenshot(page, `devices-new-${viewport}-${colorScheme}`);
          const upload = await gyazoForLinux(server, deviceId, 'from the new device');
          expect(upload.status).toBe(200);
          await page.goto(`${server.url}/devices`);
        }
        // Shown once: the list names it by its first characters only.
        expect(await page.content()).not.toContain(deviceId);
        await expect.poll(() => page.getByText(`${deviceId.slice(0, 6)}…`).isVisible()).toBe(true);
        expect(await page.locator('tbody tr td:nth-child(3) time').count()).toBe(1);
        const config = (await page.locator('pre code').last().textContent()) ?? '';
        expect(config).toContain('host: 127.0.0.1');
        expect(config).toContain(`http_port: ${new URL(server.url).port}`);
        expect(config).toContain('use_ssl: false');
        await expectAccessible(page, `devices (${viewport}, ${colorScheme})`);
        await screenshot(page, `devices-${viewport}-${colorScheme}`);
        expect(errors).toEqual([]);
        await context.close();
      }
    }

    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, server.url, user.name, user.password);
    await page.goto(`${server.url}/devices`);
    await page.getByRole('button', { name: `Revoke device ${deviceId.slice(0, 6)}…` }).click();
    await expect.poll(() => page.getByText('The device id was revoked.').isVisible()).toBe(true);
    await expect.poll(() => page.getByText('No device ids yet.').isVisible()).toBe(true);
    await context.close();
    expect((await gyazoForLinux(server, deviceId, 'after revoking')).status).toBe(401);
  });

  it('revokes only the signed-in user’s own devices', async () => {
    const owner = await server.user();
    const other = await server.user();
    const { row } = await server.rt.accounts.createDevice(owner.name);
    const context = await newContext(browser);
    const page = await context.newPage();
    await signIn(page, server.url, other.name, other.password);
    await page.goto(`${server.url}/devices`);
    const csrf = await page.locator('meta[name=csrf-token]').getAttribute('content');
    const res = await page.request.post(`${server.url}/devices/${row.id}/revoke`, {
      form: { _csrf: csrf ?? '' },
      maxRedirects: 0,
    });
    expect(res.status()).toBe(404);
    await context.close();
    expect((await server.rt.accounts.listDevices(owner.name)).length).toBe(1);
  });
});
