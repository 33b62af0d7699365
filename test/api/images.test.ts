import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectError,
  expectImageObject,
  filesOf,
  jsonOf,
  settleJobs,
  storedState,
  uploadOk,
  type WireImage,
} from '../helpers/api.ts';
import { solidPng } from '../helpers/images.ts';
import { imageRow } from '../helpers/rows.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
let colorSeq = 0;
/** A PNG with bytes no other test in this file uploads. */
const uniquePng = () => solidPng(8, 8, `#${(++colorSeq * 2654435).toString(16).slice(-6).padStart(6, '0')}`);

const list = (token: string, query = '') => fetch(`${server.url}/api/images?access_token=${token}${query}`);
const ids = (images: WireImage[]) => images.map((i) => i.image_id);

describe('GET /api/images', () => {
  let token: string;
  let uploaded: WireImage[];

  beforeAll(async () => {
    ({ token } = await server.user());
    uploaded = [];
    // Uploaded in this order, without created_at: the list shows them newest first.
    for (let i = 0; i < 3; i++) uploaded.push(await uploadOk(server, token, await uniquePng()));
  });

  it('lists the caller’s images newest first, with the paging headers', async () => {
    const res = await list(token);
    expect(res.status).toBe(200);
    const body = await jsonOf<WireImage[]>(res);
    expect(ids(body)).toEqual(ids(uploaded).reverse());
    for (const image of body) expectImageObject(image, server);
    expect(res.headers.get('x-total-count')).toBe('3');
    expect(res.headers.get('x-current-page')).toBe('1');
    expect(res.headers.get('x-per-page')).toBe('20');
    expect(['lite', 'ninja']).toContain(res.headers.get('x-user-type'));
  });

  it('lists each image as the same whole object its upload answered, every field filled', async () => {
    const { token: own } = await server.user();
    const full = await uploadOk(server, own, await uniquePng(), {
      title: 'Quarterly "numbers" ☃',
      desc: 'line one\nline two',
      app: 'Gyazo for Linux',
      referer_url: 'https://example.com/a?b=c',
      created_at: '1700000000.25',
      access_policy: 'only_me',
      metadata_is_public: 'true',
    });
    const bare = await uploadOk(server, own, await uniquePng(), { created_at: '1600000000' });
    const body = await jsonOf<WireImage[]>(await list(own));
    expect(body).toEqual([full, bare]);
  });

  it('takes the token from the Authorization header too', async () => {
    const res = await fetch(`${server.url}/api/images`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await jsonOf<WireImage[]>(res)).toHaveLength(3);
  });

  it('pages with page and per_page; a page past the end is []', async () => {
    const newestFirst = ids(uploaded).reverse();
    const page1 = await list(token, '&per_page=2');
    expect(ids(await jsonOf(page1))).toEqual(newestFirst.slice(0, 2));
    expect(page1.headers.get('x-per-page')).toBe('2');
    expect(page1.headers.get('x-current-page')).toBe('1');
    expect(page1.headers.get('x-total-count')).toBe('3');

    const page2 = await list(token, '&per_page=2&page=2');
    expect(ids(await jsonOf(page2))).toEqual(newestFirst.slice(2));
    expect(page2.headers.get('x-current-page')).toBe('2');

    const page3 = await list(token, '&per_page=2&page=3');
    expect(page3.status).toBe(200);
    expect(await jsonOf(page3)).toEqual([]);
    expect(page3.headers.get('x-total-count')).toBe('3');
    expect(page3.headers.get('x-current-page')).toBe('3');

    const far = await list(token, '&page=999');
    expect(far.status).toBe(200);
    expect(await jsonOf(far)).toEqual([]);
  });

  it('accepts per_page 1 and 100, the ends of the range', async () => {
    const one = await list(token, '&per_page=1');
    expect(await jsonOf<WireImage[]>(one)).toHaveLength(1);
    expect(one.headers.get('x-per-page')).toBe('1');
    const hundred = await list(token, '&per_page=100');
    expect(await jsonOf<WireImage[]>(hundred)).toHaveLength(3);
    expect(hundred.headers.get('x-per-page')).toBe('100');
  });

  it.each([
    'per_page=0',
    'per_page=101',
    'per_page=-1',
    'per_page=abc',
    'per_page=1.5',
    'per_page=',
    'page=0',
    'page=-2',
    'page=abc',
    'page=1.5',
  ])('answers 400 to %s', async (query) => {
    await expectError(await list(token, `&${query}`), 400, { path: '/api/images' });
  });

  it('orders by created_at (newest first), not by upload order', async () => {
    const { token: t } = await server.user();
    const mid = await uploadOk(server, t, await uniquePng(), { created_at: '2000' });
    const newest = await uploadOk(server, t, await uniquePng(), { created_at: '3000' });
    const oldest = await uploadOk(server, t, await uniquePng(), { created_at: '1000' });
    expect(ids(await jsonOf(await list(t)))).toEqual([newest, mid, oldest].map((i) => i.image_id));
  });

  it('shows only the caller’s images, only_me ones included', async () => {
    const a = await server.user();
    const b = await server.user();
    const mine = await uploadOk(server, a.token, await uniquePng(), { access_policy: 'only_me' });
    const theirs = await uploadOk(server, b.token, await uniquePng());
    const res = await list(a.token);
    expect(ids(await jsonOf(res))).toEqual([mine.image_id]);
    expect(res.headers.get('x-total-count')).toBe('1');
    expect(ids(await jsonOf(await list(b.token)))).toEqual([theirs.image_id]);
  });

  it('an account with no images gets [] and a total of 0', async () => {
    const { token: t } = await server.user();
    const res = await list(t);
    expect(await jsonOf(res)).toEqual([]);
    expect(res.headers.get('x-total-count')).toBe('0');
  });

  it('pages correctly deep into a large account, across ties in created_at and after a delete', async () => {
    const user = await server.user();
    // Metadata rows straight into the store (no bytes needed to list): 1,100 images, three per second.
    const n = 1100;
    const blobKey = 'f'.repeat(64);
    const all: string[] = [];
    for (let i = 0; i < n; i++) {
      const imageId = `d${i.toString(16).padStart(31, '0')}`;
      all.push(imageId);
      await server.rt.store.images.insert(
        imageRow(user.id, 1_000_000 + 1000 * Math.floor(i / 3), { image_id: imageId, blob_key: blobKey }),
        await server.rt.store.blobLedger.addPending(blobKey, Date.now()),
      );
    }
    const expected = [...all].reverse();
    const pages = async (perPage: number) => {
      const out: string[] = [];
      for (let page = 1; ; page++) {
        const res = await list(user.token, `&per_page=${perPage}&page=${page}`);
        expect(res.headers.get('x-total-count')).toBe(String(expected.length));
        const got = ids(await jsonOf(res));
        if (got.length === 0) return out;
        out.push(...got);
      }
    };
    expect(await pages(100)).toEqual(expected);
    // Without per_page, a page is 20 images.
    const defaults = await list(user.token, '&page=3');
    expect(ids(await jsonOf(defaults))).toEqual(expected.slice(40, 60));
    expect(defaults.headers.get('x-per-page')).toBe('20');
    // Pages that straddle the stride of the server's page bookmarks (500) and its ties.
    for (const [perPage, page] of [
      [7, 71],
      [7, 72],
      [7, 143],
      [3, 167],
      [33, 16],
      [1, 501],
      [100, 11],
    ] as const) {
      const res = await list(user.token, `&per_page=${perPage}&page=${page}`);
      const start = (page - 1) * perPage;
      expect(ids(await jsonOf(res))).toEqual(expected.slice(start, start + perPage));
    }

    // Delete one image past the first bookmark: every later page shifts by one.
    const victim = expected[600] as string;
    const del = await fetch(`${server.url}/api/images/${victim}?access_token=${user.token}`, {
      method: 'DELETE',
    });
    expect(del.status).toBe(200);
    expected.splice(600, 1);
    expect(await pages(100)).toEqual(expected);
  });
});

describe('GET /api/images/:image_id', () => {
  let owner: { token: string };
  let image: WireImage;

  beforeAll(async () => {
    owner = await server.user();
    image = await uploadOk(server, owner.token, await uniquePng(), { title: 'mine' });
  });

  it('answers the owner, with the token in the query or the header', async () => {
    const byQuery = await fetch(`${server.url}/api/images/${image.image_id}?access_token=${owner.token}`);
    expect(byQuery.status).toBe(200);
    expect(await jsonOf(byQuery)).toEqual(image);
    const byHeader = await fetch(`${server.url}/api/images/${image.image_id}`, {
      headers: { authorization: `Bearer ${owner.token}` },
    });
    expect(byHeader.status).toBe(200);
    expect(await jsonOf(byHeader)).toEqual(image);
  });

  it('is 404 for another user’s image, public or not', async () => {
    const other = await server.user();
    const path = `/api/images/${image.image_id}`;
    await expectError(await fetch(`${server.url}${path}?access_token=${other.token}`), 404, {
      path,
      message: 'image not found',
    });
  });

  it('is 404 for an unknown id and 400 for a malformed one', async () => {
    const unknown = `/api/images/${'0'.repeat(32)}`;
    await expectError(await fetch(`${server.url}${unknown}?access_token=${owner.token}`), 404, {
      path: unknown,
      message: 'image not found',
    });
    const malformed = '/api/images/NOT-AN-ID';
    await expectError(await fetch(`${server.url}${malformed}?access_token=${owner.token}`), 400, {
      path: malformed,
    });
  });

  it('is 401 without a token or with a bad one, never echoing the token', async () => {
    const path = `/api/images/${image.image_id}`;
    await expectError(await fetch(`${server.url}${path}`), 401, { path });
    const body = await expectError(await fetch(`${server.url}${path}?access_token=sekrit-token-value`), 401, {
      path,
    });
    expect(JSON.stringify(body)).not.toContain('sekrit');
    await expectError(
      await fetch(`${server.url}${path}`, { headers: { authorization: 'Bearer sekrit-token-value' } }),
      401,
      { path },
    );
  });
});

describe('DELETE /api/images/:image_id', () => {
  it('answers 200 with the whole image object and forgets the image', async () => {
    const user = await server.user();
    const bytes = await uniquePng();
    const image = await uploadOk(server, user.token, bytes, { title: 'to delete' });
    const res = await fetch(`${server.url}/api/images/${image.image_id}?access_token=${user.token}`, {
      method: 'DELETE',
    });
    expect(res.status).toBe(200);
    const body = await jsonOf<WireImage>(res);
    expect(body).toEqual(image);
    expect(body.created_at).toBe(image.created_at);
    expect(body.type).toBe('png');

    const path = `/api/images/${image.image_id}`;
    await expectError(await fetch(`${server.url}${path}?access_token=${user.token}`), 404, { path });
    expect(await jsonOf(await list(user.token))).toEqual([]);
    expect((await fetch(image.url)).status).toBe(404);
    expect((await fetch(image.thumb_url)).status).toBe(404);
    // Deleting it again: it is gone.
    await expectError(
      await fetch(`${server.url}${path}?access_token=${user.token}`, { method: 'DELETE' }),
      404,
      { path, method: 'DELETE', message: 'image not found' },
    );
  });

  it.each([
    ['Authorization header', 'header'],
    ['url-encoded body', 'form'],
    ['JSON body', 'json'],
  ] as const)('takes the token from the %s', async (_label, via) => {
    const user = await server.user();
    const image = await uploadOk(server, user.token, await uniquePng());
    const init: RequestInit = { method: 'DELETE' };
    if (via === 'header') init.headers = { authorization: `Bearer ${user.token}` };
    if (via === 'form') init.body = new URLSearchParams({ access_token: user.token });
    if (via === 'json') {
      init.body = JSON.stringify({ access_token: user.token });
      init.headers = { 'content-type': 'application/json' };
    }
    const res = await fetch(`${server.url}/api/images/${image.image_id}`, init);
    expect(res.status).toBe(200);
    expect((await jsonOf<WireImage>(res)).image_id).toBe(image.image_id);
  });

  it('removes the bytes and the thumbnail once no image uses them', async () => {
    const user = await server.user();
    const bytes = await uniquePng();
    const key = sha256(bytes);
    const image = await uploadOk(server, user.token, bytes);
    expect(filesOf(await server.blobFiles(), key)).toHaveLength(2);
    const res = await fetch(`${server.url}/api/images/${image.image_id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${user.token}` },
    });
    expect(res.status).toBe(200);
    await settleJobs(server);
    expect(filesOf(await server.blobFiles(), key)).toEqual([]);
  });

  it('keeps shared bytes while another image still uses them', async () => {
    const a = await server.user();
    const b = await server.user();
    const bytes = await uniquePng();
    const key = sha256(bytes);
    const first = await uploadOk(server, a.token, bytes);
    const second = await uploadOk(server, b.token, bytes);
    const firstAgain = await uploadOk(server, a.token, bytes);
    const files = filesOf(await server.blobFiles(), key);
    expect(files).toHaveLength(2);

    const del = (img: WireImage, token: string) =>
      fetch(`${server.url}/api/images/${img.image_id}?access_token=${token}`, { method: 'DELETE' });

    expect((await del(first, a.token)).status).toBe(200);
    await settleJobs(server);
    expect(filesOf(await server.blobFiles(), key)).toEqual(files);
    expect((await del(second, b.token)).status).toBe(200);
    await settleJobs(server);
    expect(filesOf(await server.blobFiles(), key)).toEqual(files);
    const raw = await fetch(firstAgain.url);
    expect(raw.status).toBe(200);
    expect(Buffer.from(await raw.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await fetch(firstAgain.thumb_url)).status).toBe(200);

    expect((await del(firstAgain, a.token)).status).toBe(200);
    await settleJobs(server);
    expect(filesOf(await server.blobFiles(), key)).toEqual([]);
  });

  it('is 404 for another user’s image, which stays', async () => {
    const owner = await server.user();
    const other = await server.user();
    const image = await uploadOk(server, owner.token, await uniquePng());
    const before = await storedState(server);
    const path = `/api/images/${image.image_id}`;
    await expectError(
      await fetch(`${server.url}${path}?access_token=${other.token}`, { method: 'DELETE' }),
      404,
      { path, method: 'DELETE', message: 'image not found' },
    );
    await settleJobs(server);
    expect(await storedState(server)).toEqual(before);
    expect((await fetch(`${server.url}${path}?access_token=${owner.token}`)).status).toBe(200);
    expect((await fetch(image.url)).status).toBe(200);
  });

  it('is 401 without a token or with a bad one, and deletes nothing', async () => {
    const owner = await server.user();
    const image = await uploadOk(server, owner.token, await uniquePng());
    const before = await storedState(server);
    const path = `/api/images/${image.image_id}`;
    await expectError(await fetch(`${server.url}${path}`, { method: 'DELETE' }), 401, {
      path,
      method: 'DELETE',
    });
    await expectError(
      await fetch(`${server.url}${path}`, {
        method: 'DELETE',
        body: new URLSearchParams({ access_token: 'not-a-token' }),
      }),
      401,
      { path, method: 'DELETE' },
    );
    await settleJobs(server);
    expect(await storedState(server)).toEqual(before);
  });
});

describe('GET /api/users/me', () => {
  it('answers {user: {email, name, profile_image, uid}}', async () => {
    const user = await server.user();
    const res = await fetch(`${server.url}/api/users/me`, {
      headers: { authorization: `Bearer ${user.token}` },
    });
    expect(res.status).toBe(200);
    const body = await jsonOf(res);
    expect(Object.keys(body)).toEqual(['user']);
    expect(Object.keys(body.user).sort()).toEqual(['email', 'name', 'profile_image', 'uid']);
    for (const v of Object.values(body.user)) expect(typeof v).toBe('string');
    expect(body.user.name).toBe(user.name);
    expect(body.user.uid.length).toBeGreaterThan(0);

    const byQuery = await fetch(`${server.url}/api/users/me?access_token=${user.token}`);
    expect(await jsonOf(byQuery)).toEqual(body);
  });

  it('is 401 without a valid token', async () => {
    await expectError(await fetch(`${server.url}/api/users/me`), 401, { path: '/api/users/me' });
    await expectError(await fetch(`${server.url}/api/users/me?access_token=nope`), 401, {
      path: '/api/users/me',
    });
  });
});
