import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { principalOf } from '../../src/services/principal.ts';
import type { UserRow } from '../../src/store/schema.ts';
import { expectError, expectImageObject, jsonOf, uploadOk, type WireImage } from '../helpers/api.ts';
import { solidPng } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let token: string;
let colorSeq = 0;
const uniquePng = () => solidPng(6, 6, `#${(++colorSeq * 2654435).toString(16).slice(-6).padStart(6, '0')}`);

beforeAll(async () => {
  server = await startServer();
  ({ token } = await server.user());
});
afterAll(() => server.close());

const patchJson = (id: string, body: unknown, t: string | null = token) =>
  fetch(`${server.url}/api/images/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', ...(t ? { authorization: `Bearer ${t}` } : {}) },
    body: JSON.stringify(body),
  });
const patchForm = (id: string, fields: Record<string, string>) =>
  fetch(`${server.url}/api/images/${id}`, { method: 'PATCH', body: new URLSearchParams(fields) });
const get = async (id: string, t = token) =>
  jsonOf<WireImage>(await fetch(`${server.url}/api/images/${id}?access_token=${t}`));
const list = async (t = token) => {
  const res = await fetch(`${server.url}/api/images?access_token=${t}`);
  expect(res.status).toBe(200);
  return jsonOf<WireImage[]>(res);
};
const search = async (query: string) => {
  const res = await fetch(
    `${server.url}/api/search?access_token=${token}&query=${encodeURIComponent(query)}`,
  );
  expect(res.status, query).toBe(200);
  return (await jsonOf<WireImage[]>(res)).map((i) => i.image_id);
};

describe('alt_text on every image object', () => {
  it('is "" on upload, get, list, search and delete until it is set', async () => {
    const up = await uploadOk(server, token, await uniquePng(), { title: 'plain upload' });
    expectImageObject(up, server);
    expect(up.alt_text).toBe('');
    expect((await get(up.image_id)).alt_text).toBe('');
    expect((await list()).find((i) => i.image_id === up.image_id)?.alt_text).toBe('');
    const found = await fetch(`${server.url}/api/search?access_token=${token}&query=plain`);
    expect((await jsonOf<WireImage[]>(found)).map((i) => i.alt_text)).toEqual(['']);
    const res = await fetch(`${server.url}/api/images/${up.image_id}?access_token=${token}`, {
      method: 'DELETE',
    });
    expect((await jsonOf<WireImage>(res)).alt_text).toBe('');
  });
});

describe('PATCH /api/images/:image_id', () => {
  it('edits title, desc and alt_text from JSON and answers the whole image object', async () => {
    const up = await uploadOk(server, token, await uniquePng(), { title: 'before', desc: 'old desc' });
    const res = await patchJson(up.image_id, {
      title: 'After ☃',
      desc: 'line one\nline two',
      alt_text: 'A red door in a white wall',
    });
    expect(res.status).toBe(200);
    const edited = await jsonOf<WireImage>(res);
    expectImageObject(edited, server);
    expect(edited).toEqual({
      ...up,
      metadata: { ...up.metadata, title: 'After ☃', desc: 'line one\nline two' },
      alt_text: 'A red door in a white wall',
    });
    expect(await get(up.image_id)).toEqual(edited);
  });

  it('takes a url-encoded form, token among the fields; absent fields stay as they were', async () => {
    const up = await uploadOk(server, token, await uniquePng(), { title: 'keep me', desc: 'replace me' });
    const res = await patchForm(up.image_id, { access_token: token, desc: 'replaced by a form' });
    expect(res.status).toBe(200);
    const edited = await jsonOf<WireImage>(res);
    expect(edited.metadata).toEqual({ ...up.metadata, title: 'keep me', desc: 'replaced by a form' });
    expect(edited.alt_text).toBe('');
  });

  it('clears a field given as ""; a cleared title is null, as if never given', async () => {
    const up = await uploadOk(server, token, await uniquePng(), { title: 'gone soon', desc: 'also gone' });
    await patchJson(up.image_id, { alt_text: 'something' });
    const edited = await jsonOf<WireImage>(
      await patchJson(up.image_id, { title: '', desc: '', alt_text: '' }),
    );
    expect(edited.metadata.title).toBeNull();
    expect(edited.metadata.desc).toBe('');
    expect(edited.alt_text).toBe('');
  });

  it('changes access_policy and metadata_is_public: an only_me image leaves public view', async () => {
    const up = await uploadOk(server, token, await uniquePng(), { title: 'Public title' });
    const oembed = () =>
      fetch(`${server.url}/api/oembed?url=${encodeURIComponent(up.permalink_url)}`).then((r) => r.json());
    expect((await oembed()).title).toBeUndefined();
    const shown = await jsonOf<WireImage>(
      await patchForm(up.image_id, { access_token: token, metadata_is_public: 'true' }),
    );
    expect(shown.access_policy).toBe('anyone');
    expect((await oembed()).title).toBe('Public title');

    const hidden = await jsonOf<WireImage>(await patchJson(up.image_id, { access_policy: 'only_me' }));
    expect(hidden.access_policy).toBe('only_me');
    expect((await fetch(up.url)).status).toBe(404);
    expect((await fetch(`${up.url}?access_token=${token}`)).status).toBe(200);
  });

  it('a GET /api/images right after an edit shows the new text (the list cache is keyed by version)', async () => {
    const { token: own } = await server.user();
    const up = await uploadOk(server, own, await uniquePng(), { title: 'first' });
    // Twice: the second answer comes from the list-page cache.
    expect((await list(own))[0]?.metadata.title).toBe('first');
    expect((await list(own))[0]?.metadata.title).toBe('first');
    for (const title of ['second', 'third']) {
      expect((await patchJson(up.image_id, { title }, own)).status).toBe(200);
      const [image] = await list(own);
      expect(image?.metadata.title).toBe(title);
    }
    await patchJson(up.image_id, { alt_text: 'described' }, own);
    expect((await list(own))[0]?.alt_text).toBe('described');
    await patchJson(up.image_id, { access_policy: 'only_me' }, own);
    expect((await list(own))[0]?.access_policy).toBe('only_me');
  });

  it('search finds words of the alt text, by substring and with alt:, and forgets replaced ones', async () => {
    const up = await uploadOk(server, token, await uniquePng());
    expect(await search('lighthouse')).toEqual([]);
    await patchJson(up.image_id, { alt_text: 'A lighthouse at dusk, 灯台の写真' });
    expect(await search('lighthouse')).toEqual([up.image_id]);
    expect(await search('ghthou')).toEqual([up.image_id]);
    expect(await search('灯台')).toEqual([up.image_id]);
    expect(await search('alt:"at dusk"')).toEqual([up.image_id]);
    expect(await search('alt:du')).toEqual([up.image_id]);
    expect(await search('title:lighthouse')).toEqual([]);
    await patchJson(up.image_id, { alt_text: 'A windmill' });
    expect(await search('lighthouse')).toEqual([]);
    expect(await search('windmill')).toEqual([up.image_id]);
  });

  it.each([
    ['no field', {}, /Nothing to change/],
    // The token is filled in below: the table is read before beforeAll has made it.
    ['only a token', { access_token: 'TOKEN' }, /Nothing to change/],
    ['a misspelt field', { titel: 'typo' }, /additional properties/],
    ['NUL in title', { title: 'a\u0000b' }, /title contains a control character \(U\+0000\)/],
    ['BEL in alt_text', { alt_text: 'bell\u0007' }, /alt_text contains a control character \(U\+0007\)/],
    ['a long desc', { desc: 'x'.repeat(10_001) }, /desc is longer than 10000 characters/],
    ['a long alt_text', { alt_text: 'y'.repeat(10_001) }, /alt_text is longer than 10000 characters/],
    ['an unknown policy', { access_policy: 'everyone' }, /access_policy/],
    ['a non-boolean', { metadata_is_public: 'yes' }, /metadata_is_public/],
    ['an object as title', { title: { nested: true } }, /title/],
  ])('refuses %s with a 400 and changes nothing', async (_label, body, message) => {
    const up = await uploadOk(server, token, await uniquePng(), { title: 'unchanged', desc: 'same' });
    const inBody = 'access_token' in body;
    const res = await patchJson(
      up.image_id,
      inBody ? { ...body, access_token: token } : body,
      inBody ? null : token,
    );
    await expectError(res, 400, { path: `/api/images/${up.image_id}`, method: 'PATCH', message });
    expect(await get(up.image_id)).toEqual(up);
  });

  it('refuses a body that is neither JSON nor a form, and a body that is no object', async () => {
    const up = await uploadOk(server, token, await uniquePng());
    const path = `/api/images/${up.image_id}`;
    const multipart = new FormData();
    multipart.append('title', 'via multipart');
    const asMultipart = await fetch(`${server.url}${path}?access_token=${token}`, {
      method: 'PATCH',
      body: multipart,
    });
    await expectError(asMultipart, 400, { path, method: 'PATCH' });
    await expectError(await patchJson(up.image_id, ['title']), 400, { path, method: 'PATCH' });
    expect(await get(up.image_id)).toEqual(up);
  });

  it("answers 404 for another user's image, as GET does, and leaves it alone", async () => {
    const other = await server.user();
    const theirs = await uploadOk(server, other.token, await uniquePng(), { title: 'theirs' });
    const res = await patchJson(theirs.image_id, { title: 'mine now' });
    await expectError(res, 404, {
      path: `/api/images/${theirs.image_id}`,
      method: 'PATCH',
      message: 'image not found',
    });
    expect((await get(theirs.image_id, other.token)).metadata.title).toBe('theirs');
  });

  it('answers 404 for an unknown id and 400 for a malformed one', async () => {
    const unknown = 'f'.repeat(32);
    await expectError(await patchJson(unknown, { title: 'x' }), 404, {
      path: `/api/images/${unknown}`,
      method: 'PATCH',
      message: 'image not found',
    });
    await expectError(await patchJson('not-an-id', { title: 'x' }), 400, {
      path: '/api/images/not-an-id',
      method: 'PATCH',
    });
  });

  it('answers 401 without a token or with a revoked one, and changes nothing', async () => {
    const up = await uploadOk(server, token, await uniquePng(), { title: 'safe' });
    const path = `/api/images/${up.image_id}`;
    await expectError(await patchJson(up.image_id, { title: 'x' }, null), 401, {
      path,
      method: 'PATCH',
    });
    await expectError(await patchJson(up.image_id, { title: 'x' }, 'no-such-token'), 401, {
      path,
      method: 'PATCH',
    });
    expect((await get(up.image_id)).metadata.title).toBe('safe');
  });

  it('answers 403 to a token granted only the upload scope', async () => {
    const user = await server.user();
    const up = await uploadOk(server, user.token, await uniquePng(), { title: 'scoped' });
    // What an OAuth app holds when the user granted it `upload` alone.
    const appToken = await grantedToken(server, user.id, 'upload');
    await expectError(await patchJson(up.image_id, { title: 'x' }, appToken), 403, {
      path: `/api/images/${up.image_id}`,
      method: 'PATCH',
      message: /"public" scope/,
    });
  });
});

/** A token from the OAuth flow (a registered app, the user's consent to `scope`, the code exchanged). */
async function grantedToken(server: TestServer, userId: number, scope: string): Promise<string> {
  const redirectUri = 'https://app.example/callback';
  const { app, clientSecret } = await server.rt.oauth.createApp(userId, 'Scoped app', [redirectUri]);
  const check = await server.rt.oauth.checkAuthorization({
    client_id: app.client_id,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope,
  });
  if (!check.ok) throw new Error(`authorization refused: ${check.redirect}`);
  const row = await server.rt.store.users.findById(userId);
  const back = await server.rt.oauth.approve(check.request, principalOf(row as UserRow, 'session'));
  const code = new URL(back).searchParams.get('code') as string;
  const { accessToken } = await server.rt.oauth.exchange(
    {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: app.client_id,
      client_secret: clientSecret,
    },
    undefined,
  );
  return accessToken;
}
