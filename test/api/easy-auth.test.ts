import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originalKey } from '../../src/blobs/blob-store.ts';
import { redactUrl } from '../../src/http/log-redaction.ts';
import { hashSecret } from '../../src/services/accounts.service.ts';
import { fixedClientApps } from '../../src/services/client-apps.ts';
import { NOT_A_DATA_URI } from '../../src/services/data-uri.ts';
import { DataDirCheck } from '../../src/services/fsck.service.ts';
import { JSON_TYPE, jsonOf } from '../helpers/api.ts';
import { noisePng, solidPng } from '../helpers/images.ts';
import { form, startServer, type TestServer } from '../helpers/server.ts';
import { signedInCookie } from '../helpers/web-session.ts';

const CLIENT_ID = 'easy-auth-test-app';
const ORIGIN = 'https://page.example.org';
const runtime = { clientApps: fixedClientApps([{ clientId: CLIENT_ID, name: 'A test page' }]) };

const dataUri = (bytes: Buffer, type = 'image/png') => `data:${type};base64,${bytes.toString('base64')}`;

function post(server: TestServer, fields: Record<string, string>, as: 'form' | 'multipart' = 'form') {
  return fetch(`${server.url}/api/upload/easy_auth`, {
    method: 'POST',
    headers: { origin: ORIGIN },
    body: as === 'form' ? new URLSearchParams(fields) : form(fields),
  });
}

async function started(
  server: TestServer,
  fields: Record<string, string>,
  as: 'form' | 'multipart' = 'form',
) {
  const res = await post(server, { client_id: CLIENT_ID, ...fields }, as);
  expect(res.status, await res.clone().text()).toBe(200);
  const body = await jsonOf<{ get_image_url: string; expires_at: number }>(res);
  const token = body.get_image_url.slice(body.get_image_url.lastIndexOf('/') + 1);
  const held = await server.rt.store.heldImages.findByTokenHash(hashSecret(token));
  return { ...body, token, held, res };
}

const open = (url: string, cookie?: string) =>
  fetch(url, {
    redirect: 'manual',
    headers: cookie ? { cookie, accept: 'text/html' } : { accept: 'text/html' },
  });

const hasOriginal = (server: TestServer, blobKey: string) => server.rt.blobs.exists(originalKey(blobKey));

describe('easy_auth: upload now, the browser that opens the link gets the image', () => {
  let server: TestServer;
  let user: Awaited<ReturnType<TestServer['user']>>;
  let cookie: string;

  beforeAll(async () => {
    server = await startServer({}, undefined, { runtime });
    user = await server.user();
    cookie = await signedInCookie(server, user.name, user.password);
  });
  afterAll(() => server.close());

  it('answers a link on the web origin whose token is no image id, expiring 30 s on, and holds the image for nobody', async () => {
    const before = await server.imageCount();
    const png = await solidPng(20, 10, '#225588');
    const { get_image_url, expires_at, token, held, res } = await started(server, {
      image_url: dataUri(png),
      referer_url: 'https://page.example.org/article',
    });
    expect(res.headers.get('content-type')).toBe(JSON_TYPE);
    expect(get_image_url).toBe(`${server.config.urls.web}/api/upload/${token}`);
    expect(token).not.toMatch(/[a-f0-9]{32}/);
    expect(expires_at).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 25);
    expect(expires_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 31);
    expect(held).toBeDefined();
    expect(await server.imageCount()).toBe(before);
    expect(await hasOriginal(server, held?.blob_key ?? '')).toBe(true);
  });

  it('gives the image to the signed-in browser: 302 to the permalink (200), theirs in the API, the link spent', async () => {
    const png = await solidPng(24, 12, '#884422');
    // gyazo-browser-upload sends location.href through encodeURIComponent, and the form encodes it again.
    const page = 'https://page.example.org/a path?q=1';
    const { get_image_url } = await started(server, {
      image_url: dataUri(png),
      referer_url: encodeURIComponent(page),
      title: 'From a page',
      desc: 'a description',
    });
    const res = await open(get_image_url, cookie);
    expect(res.status).toBe(302);
    const permalink = res.headers.get('location') ?? '';
    const imageId = /[a-f0-9]{32}/.exec(permalink)?.[0];
    expect(permalink).toBe(`${server.config.urls.web}/${imageId}`);
    expect((await fetch(permalink)).status).toBe(200);

    const mine = await jsonOf(await fetch(`${server.url}/api/images/${imageId}?access_token=${user.token}`));
    expect(mine.metadata).toMatchObject({ title: 'From a page', desc: 'a description', url: page });
    expect(mine.type).toBe('png');

    const again = await open(get_image_url, cookie);
    expect(again.status).toBe(404);
    expect(again.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await again.text()).toContain('unknown, or was used or expired already');
    // Its thumbnail is made like any upload's.
    await expect.poll(() => fetch(mine.thumb_url).then((r) => r.status), { timeout: 10_000 }).toBe(200);
  });

  it('reads multipart too, parts in any order, and bare base64', async () => {
    const png = await solidPng(8, 8, '#123456');
    const res = await fetch(`${server.url}/api/upload/easy_auth`, {
      method: 'POST',
      body: form({ image_url: png.toString('base64'), title: 'bare', client_id: CLIENT_ID }),
    });
    expect(res.status).toBe(200);
    const link = await open((await jsonOf(res)).get_image_url, cookie);
    expect(link.status).toBe(302);
    const imageId = /[a-f0-9]{32}/.exec(link.headers.get('location') ?? '')?.[0];
    const image = await jsonOf(await fetch(`${server.url}/api/images/${imageId}?access_token=${user.token}`));
    expect(image.metadata.title).toBe('bare');
  });

  it('asks a browser that is not signed in to sign in, and then completes', async () => {
    const { get_image_url, token } = await started(server, {
      image_url: dataUri(await solidPng(9, 9, '#0a0a0a')),
    });
    const res = await open(get_image_url);
    expect(res.status).toBe(302);
    const signin = new URL(res.headers.get('location') ?? '', server.url);
    expect(signin.pathname).toBe('/signin');
    expect(signin.searchParams.get('next')).toBe(`/api/upload/${token}`);
    // The sign-in window starts now: the link outlives its 30 s while the person signs in.
    const held = await server.rt.store.heldImages.findByTokenHash(hashSecret(token));
    expect(held?.expires_at).toBeGreaterThan(Date.now() + 5 * 60_000);

    const page = await fetch(signin);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    const jar = page.headers.getSetCookie().map((c) => c.split(';')[0]);
    const signedIn = await fetch(`${server.url}/signin`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.join('; ') },
      body: new URLSearchParams({
        name: user.name,
        password: user.password,
        _csrf: csrf,
        next: `/api/upload/${token}`,
      }),
    });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('location')).toBe(`/api/upload/${token}`);
    const session = signedIn.headers.getSetCookie().map((c) => c.split(';')[0]);
    const done = await open(new URL(`/api/upload/${token}`, server.url).href, session.join('; '));
    expect(done.status).toBe(302);
    expect(done.headers.get('location')).toMatch(new RegExp(`^${server.config.urls.web}/[a-f0-9]{32}$`));
  });

  it('refuses an http(s) image_url without fetching it, and keeps nothing', async () => {
    let fetched = 0;
    const target = http.createServer((_req, res) => {
      fetched++;
      res.end();
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const { port } = target.address() as AddressInfo;
    try {
      const before = await server.rt.store.heldImages.blobKeys();
      for (const url of [
        `http://127.0.0.1:${port}/x.png`,
        `https://127.0.0.1:${port}/x.png`,
        ` HTTP://127.0.0.1:${port}/`,
      ]) {
        for (const as of ['form', 'multipart'] as const) {
          const res = await post(server, { client_id: CLIENT_ID, image_url: url }, as);
          expect(res.status, `${as} ${url}`).toBe(400);
          expect((await jsonOf(res)).message).toBe(NOT_A_DATA_URI);
        }
      }
      expect(fetched).toBe(0);
      expect(await server.rt.store.heldImages.blobKeys()).toEqual(before);
    } finally {
      target.close();
    }
  });

  it('refuses a missing or unknown client_id (400, 401) and what is not an image (422), keeping nothing', async () => {
    const before = await server.rt.store.heldImages.blobKeys();
    const png = dataUri(await solidPng(5, 5, '#ffffff'));
    const missing = await post(server, { image_url: png });
    expect(missing.status).toBe(400);
    expect((await jsonOf(missing)).message).toBe('client_id is required');
    const unknown = await post(server, { client_id: 'nobody', image_url: png }, 'multipart');
    expect(unknown.status).toBe(401);
    const text = await post(server, {
      client_id: CLIENT_ID,
      image_url: `data:image/png;base64,${Buffer.from('not an image at all').toString('base64')}`,
    });
    expect(text.status).toBe(422);
    const broken = await post(server, { client_id: CLIENT_ID, image_url: 'data:image/png;base64,@@@@' });
    expect(broken.status).toBe(400);
    const none = await post(server, { client_id: CLIENT_ID });
    expect(none.status).toBe(400);
    expect(await server.rt.store.heldImages.blobKeys()).toEqual(before);
  });

  it('counts a held image’s bytes as used: the collector and fsck leave them', async () => {
    const { held } = await started(server, { image_url: dataUri(await noisePng(30, 30, 7)) });
    const blobKey = held?.blob_key ?? '';
    expect(await server.rt.collector.collect(blobKey)).toBe(false);
    const check = new DataDirCheck(server.rt.store, server.rt.blobs, server.rt.collector, {
      thumbSize: server.config.thumbSize,
      maxPixels: server.config.limits.maxPixels,
    });
    const problems: string[] = [];
    await check.run({ repair: true }, (p) => problems.push(`${p.kind} ${p.key}`));
    expect(problems.filter((p) => p.includes(blobKey))).toEqual([]);
    expect(await hasOriginal(server, blobKey)).toBe(true);
  });

  it('answers browsers on any origin with credentials: the origin echoed, Vary: Origin, preflight too', async () => {
    const res = await post(server, {
      client_id: CLIENT_ID,
      image_url: dataUri(await solidPng(3, 3, '#010203')),
    });
    expect(res.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('vary')?.toLowerCase()).toContain('origin');
    const pre = await fetch(`${server.url}/api/upload/easy_auth`, {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(pre.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('never logs a claim link’s token', () => {
    expect(redactUrl('/api/upload/Abc_123-x?x=1')).toBe('/api/upload/[REDACTED]?x=1');
    expect(redactUrl('/signin?next=%2Fapi%2Fupload%2FAbc_123')).toBe(
      '/signin?next=%2Fapi%2Fupload%2F[REDACTED]',
    );
    expect(redactUrl('/api/upload/easy_auth')).toBe('/api/upload/easy_auth');
  });
});

describe('easy_auth: limits and expiry', () => {
  let server: TestServer;
  let cookie: string;

  beforeAll(async () => {
    server = await startServer({ maxUploadBytes: 4000 }, undefined, {
      runtime: { ...runtime, easyAuthTimes: { claimWindowMs: 1500, signInWindowMs: 1500 } },
    });
    const user = await server.user();
    cookie = await signedInCookie(server, user.name, user.password);
  });
  afterAll(() => server.close());

  it('refuses an image over the upload limit (413) as it streams, in either encoding, keeping nothing', async () => {
    const big = await noisePng(60, 60, 3);
    expect(big.length).toBeGreaterThan(4000);
    for (const as of ['form', 'multipart'] as const) {
      const res = await post(server, { client_id: CLIENT_ID, image_url: dataUri(big) }, as);
      expect(res.status, as).toBe(413);
    }
    expect(await server.rt.store.heldImages.blobKeys()).toEqual([]);
  });

  it('after its time the link answers an error page, and the image is gone, bytes included', async () => {
    const { get_image_url, held } = await started(server, {
      image_url: dataUri(await solidPng(7, 7, '#770077')),
    });
    const blobKey = held?.blob_key ?? '';
    expect(await hasOriginal(server, blobKey)).toBe(true);
    await new Promise((r) => setTimeout(r, 1700));
    const res = await open(get_image_url, cookie);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('expired');
    expect(await hasOriginal(server, blobKey)).toBe(false);
    expect(await server.imageCount()).toBe(0);
  });

  it('deletes an image nobody opened once its time is up, by itself', async () => {
    const { held } = await started(server, { image_url: dataUri(await solidPng(6, 6, '#007777')) });
    const blobKey = held?.blob_key ?? '';
    expect(await hasOriginal(server, blobKey)).toBe(true);
    await expect
      .poll(
        async () =>
          (await hasOriginal(server, blobKey)) || (await server.rt.store.heldImages.blobKeys()).length > 0,
        {
          timeout: 10_000,
          interval: 200,
        },
      )
      .toBe(false);
    await server.settle();
    expect(await server.blobFiles()).toEqual([]);
  });
});

describe('easy_auth: bodies in pieces, and expiry across a restart', () => {
  it('reads a url-encoded body that arrives a few bytes at a time (escapes cut in two)', async () => {
    const server = await startServer({}, undefined, { runtime });
    try {
      const png = await solidPng(11, 7, '#456789');
      const body = new URLSearchParams({
        title: 'piece by piece ✓',
        client_id: CLIENT_ID,
        image_url: dataUri(png),
        referer_url: 'https://example.com/?a=1&b=%2F',
      }).toString();
      const { port } = new URL(server.url);
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            path: '/api/upload/easy_auth',
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': body.length },
          },
          (res) => {
            let text = '';
            res.on('data', (c) => {
              text += c;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('error', reject);
        const bytes = Buffer.from(body);
        let at = 0;
        const next = () => {
          if (at >= bytes.length) return req.end();
          req.write(bytes.subarray(at, at + 5));
          at += 5;
          setImmediate(next);
        };
        next();
      });
      expect(answer.status, answer.body).toBe(200);
      const { get_image_url } = JSON.parse(answer.body);
      const user = await server.user();
      const link = await open(get_image_url, await signedInCookie(server, user.name, user.password));
      const imageId = /[a-f0-9]{32}/.exec(link.headers.get('location') ?? '')?.[0];
      const image = await jsonOf(
        await fetch(`${server.url}/api/images/${imageId}?access_token=${user.token}`),
      );
      expect(image.metadata).toMatchObject({
        title: 'piece by piece ✓',
        url: 'https://example.com/?a=1&b=%2F',
      });
    } finally {
      await server.close();
    }
  });

  it('deletes an unclaimed image whose time ran out while the server was stopped', async () => {
    const options = { runtime: { ...runtime, easyAuthTimes: { claimWindowMs: 1000 } } };
    const first = await startServer({}, undefined, options);
    const { held } = await started(first, { image_url: dataUri(await solidPng(12, 12, '#abcdef')) });
    const blobKey = held?.blob_key ?? '';
    expect(await hasOriginal(first, blobKey)).toBe(true);
    await first.close();
    await new Promise((r) => setTimeout(r, 1200));
    const again = await startServer({}, first.dataDir, options);
    try {
      await expect.poll(() => hasOriginal(again, blobKey), { timeout: 10_000, interval: 200 }).toBe(false);
      expect(await again.rt.store.heldImages.blobKeys()).toEqual([]);
    } finally {
      await again.close();
    }
  });
});

describe('easy_auth with the applications users registered', () => {
  it('takes the client_id of an app registered on the Applications page, and refuses it once the app is deleted', async () => {
    const server = await startServer();
    try {
      const owner = await server.user();
      const { app } = await server.rt.oauth.createApp(owner.id, 'A blog', [
        'https://blog.example.com/callback',
      ]);
      const image_url = dataUri(await solidPng(4, 4, '#0f0f0f'));
      const ok = await post(server, { client_id: app.client_id, image_url });
      expect(ok.status).toBe(200);
      await server.rt.store.oauth.deleteApp(app.id);
      const gone = await post(server, { client_id: app.client_id, image_url });
      expect(gone.status).toBe(401);
    } finally {
      await server.close();
    }
  });
});
