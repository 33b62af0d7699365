import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectImageObject, jsonOf, uploadOk, type WireImage } from '../helpers/api.ts';
import { solidPng } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

describe('GET /api/search', () => {
  let server: TestServer;
  let token: string;
  const img: Record<string, WireImage> = {};

  const search = (query: string, extra = '', t = token) =>
    fetch(`${server.url}/api/search?access_token=${t}&query=${encodeURIComponent(query)}${extra}`);
  const found = async (query: string, extra = '') => {
    const res = await search(query, extra);
    expect(res.status, query).toBe(200);
    const body = await jsonOf<WireImage[]>(res);
    return body.map((i) => Object.entries(img).find(([, v]) => v.image_id === i.image_id)?.[0] ?? i.image_id);
  };

  beforeAll(async () => {
    server = await startServer();
    ({ token } = await server.user());
    const other = await server.user();
    let n = 0;
    const add = async (name: string, fields: Record<string, string>) => {
      n++;
      img[name] = await uploadOk(
        server,
        token,
        await solidPng(4, 4, `#0000${n.toString(16).padStart(2, '0')}`),
        {
          created_at: String(1_600_000_000 + n),
          ...fields,
        },
      );
    };
    await add('japanese', { title: 'スクリーンショット' });
    await add('hello', { title: 'Hello World' });
    await add('desc', { desc: 'meeting notes from Tuesday' });
    await add('app', { app: 'Firefox' });
    await add('url', { referer_url: 'https://docs.example.org/guide' });
    await add('underscore', { title: 'a_b' });
    await add('percent', { title: 'x%y' });
    await add('private', { title: 'secret plans', access_policy: 'only_me' });
    await add('both', { title: 'Hello again', app: 'Firefox' });
    // Another user's image with the same words never shows up in this user's results.
    await uploadOk(server, other.token, await solidPng(4, 4, '#fefefe'), {
      title: 'スクリーンショット Hello Firefox meeting',
    });
  });
  afterAll(() => server.close());

  it('finds a Japanese title by a substring of it', async () => {
    expect(await found('リーンショ')).toEqual(['japanese']);
    expect(await found('スクリーンショット')).toEqual(['japanese']);
  });

  it('finds one- and two-character queries', async () => {
    expect(await found('ショ')).toEqual(['japanese']);
    expect(await found('ス')).toEqual(['japanese']);
    expect(await found('wo')).toEqual(['hello']);
  });

  it('searches title, desc, app and url, case-insensitively, by substring', async () => {
    expect(await found('ello wor')).toEqual(['hello']);
    expect(await found('eeting')).toEqual(['desc']);
    expect(await found('FIREFOX')).toEqual(['both', 'app']);
    expect(await found('docs.example')).toEqual(['url']);
  });

  it('needs every word to match', async () => {
    expect(await found('hello firefox')).toEqual(['both']);
    expect(await found('hello nothing-like-this')).toEqual([]);
  });

  it('answers full image objects, newest first, only_me ones of the caller included', async () => {
    const res = await search('e');
    const body = await jsonOf<WireImage[]>(res);
    expect(body.length).toBeGreaterThan(3);
    for (const image of body) expectImageObject(image, server);
    const times = body.map((i) => i.created_at);
    expect([...times].sort().reverse()).toEqual(times);
    const secret = await jsonOf<WireImage[]>(await search('secret'));
    expect(secret.map((i) => i.image_id)).toEqual([img.private?.image_id]);
    expect(secret[0]?.access_policy).toBe('only_me');
  });

  it('treats LIKE wildcards and FTS syntax as plain text', async () => {
    expect(await found('_')).toEqual(['underscore']);
    expect(await found('%')).toEqual(['percent']);
    expect(await found('a_b')).toEqual(['underscore']);
    for (const q of [
      '"',
      'a"b OR *',
      'NEAR(hello world)',
      'title:hello',
      '-hello',
      'hello*',
      '(((',
      "'; --",
    ]) {
      const res = await search(q);
      expect(res.status, q).toBe(200);
      expect(Array.isArray(await jsonOf(res))).toBe(true);
    }
  });

  it('pages with page and either per or per_page', async () => {
    // 'e' matches many; take the first three.
    const all = await found('e', '&per=100');
    expect(all.length).toBeGreaterThan(3);
    expect(await found('e', '&per=2')).toEqual(all.slice(0, 2));
    expect(await found('e', '&per_page=2')).toEqual(all.slice(0, 2));
    expect(await found('e', '&per=2&page=2')).toEqual(all.slice(2, 4));
    expect(await found('e', '&per_page=2&page=100')).toEqual([]);
  });

  it('accepts a query of 200 characters and refuses 201', async () => {
    expect((await search('x'.repeat(200))).status).toBe(200);
    expect((await search('ス'.repeat(200))).status).toBe(200);
    // Characters, not UTF-16 units: 200 emoji are 200 characters.
    expect((await search('😀'.repeat(200))).status).toBe(200);
    await expectError(await search('😀'.repeat(201)), 400, { path: '/api/search' });
    await expectError(await search('x'.repeat(201)), 400, { path: '/api/search' });
  });

  it.each([
    ['no query', ''],
    ['an empty query', '&query='],
    ['a blank query', '&query=%20%20'],
    ['per=0', '&query=a&per=0'],
    ['per=101', '&query=a&per=101'],
    ['per_page=abc', '&query=a&per_page=abc'],
    ['page=0', '&query=a&page=0'],
  ])('answers 400 to %s', async (_label, params) => {
    const res = await fetch(`${server.url}/api/search?access_token=${token}${params}`);
    await expectError(res, 400, { path: '/api/search' });
  });

  it('is 401 without a valid token', async () => {
    await expectError(await fetch(`${server.url}/api/search?query=hello`), 401, { path: '/api/search' });
    await expectError(await fetch(`${server.url}/api/search?query=hello&access_token=bad`), 401, {
      path: '/api/search',
    });
  });
});
