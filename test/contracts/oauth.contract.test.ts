import { expect, it } from 'vitest';
import type { MetadataStore, NewOAuthCode } from '../../src/store/types.ts';
import { createUser, forEachStore, hashOf } from './stores.ts';

const DAY = 86_400_000;

forEachStore('oauth', (t) => {
  const app = (store: MetadataStore, userId: number, name: string, redirectUris = ['https://a.example/cb']) =>
    store.oauth.createApp({
      userId,
      name,
      clientId: `client-${name}`,
      clientSecretHash: hashOf(`5ec${name.length}`),
      redirectUris,
    });
  const code = (appId: number, userId: number, n: number, overrides: Partial<NewOAuthCode> = {}) => ({
    hash: hashOf(n),
    appId,
    userId,
    redirectUri: 'https://a.example/cb',
    scopes: 'public upload',
    codeChallenge: null,
    codeChallengeMethod: null,
    expiresAt: Date.now() + 600_000,
    ...overrides,
  });
  const tokenOf = (appId: number, userId: number, n: number) => ({
    userId,
    hash: hashOf(n),
    prefix: `tok${n}`,
    name: 'Uploader',
    appId,
    scopes: 'upload',
  });

  it('registers apps with their redirect URIs, finds them by id and client id, lists all or one user’s', async () => {
    const alice = await createUser(t.store, 'alice');
    const bob = await createUser(t.store, 'bob');
    const before = Date.now();
    const uploader = await app(t.store, alice.id, 'uploader', [
      'https://a.example/cb',
      'http://127.0.0.1:9/cb',
    ]);
    const viewer = await app(t.store, bob.id, 'viewer');
    const notes = await app(t.store, alice.id, 'notes');
    expect(typeof uploader.id).toBe('number');
    expect(uploader.created_at).toBeGreaterThanOrEqual(before);
    expect(uploader).toMatchObject({
      user_id: alice.id,
      name: 'uploader',
      client_id: 'client-uploader',
      redirect_uris: 'https://a.example/cb\nhttp://127.0.0.1:9/cb',
    });
    expect(await t.store.oauth.findAppById(uploader.id)).toEqual(uploader);
    expect(await t.store.oauth.findAppByClientId('client-viewer')).toEqual(viewer);
    expect(await t.store.oauth.findAppByClientId('client-nobody')).toBeUndefined();
    expect(await t.store.oauth.findAppById(notes.id + 100)).toBeUndefined();
    expect(await t.store.oauth.listApps()).toEqual([
      { ...uploader, user_name: 'alice' },
      { ...viewer, user_name: 'bob' },
      { ...notes, user_name: 'alice' },
    ]);
    expect((await t.store.oauth.listApps(alice.id)).map((a) => a.name)).toEqual(['uploader', 'notes']);
    expect(await t.store.oauth.listApps(bob.id + 100)).toEqual([]);
  });

  it('refuses a second app with the same client id', async () => {
    const alice = await createUser(t.store, 'alice');
    await app(t.store, alice.id, 'uploader');
    await expect(app(t.store, alice.id, 'uploader')).rejects.toThrow();
    expect(await t.store.oauth.listApps()).toHaveLength(1);
  });

  it('replaces an app’s secret hash, answering whether there was such an app', async () => {
    const alice = await createUser(t.store, 'alice');
    const uploader = await app(t.store, alice.id, 'uploader');
    expect(await t.store.oauth.setSecretHash(uploader.id, hashOf('new'))).toBe(true);
    expect((await t.store.oauth.findAppById(uploader.id))?.client_secret_hash).toBe(hashOf('new'));
    expect(await t.store.oauth.setSecretHash(uploader.id + 1, hashOf('x'))).toBe(false);
  });

  it('keeps a code as given, with numbers for its times and nothing used or issued yet', async () => {
    const alice = await createUser(t.store, 'alice');
    const uploader = await app(t.store, alice.id, 'uploader');
    const given = code(uploader.id, alice.id, 1, { codeChallenge: 'abc', codeChallengeMethod: 'S256' });
    const before = Date.now();
    await t.store.oauth.createCode(given);
    const row = await t.store.oauth.findCode(hashOf(1));
    expect(row).toMatchObject({
      code_hash: hashOf(1),
      app_id: uploader.id,
      user_id: alice.id,
      redirect_uri: 'https://a.example/cb',
      scopes: 'public upload',
      code_challenge: 'abc',
      code_challenge_method: 'S256',
      expires_at: given.expiresAt,
      used_at: null,
      token_id: null,
    });
    expect(typeof row?.id).toBe('number');
    expect(row?.created_at).toBeGreaterThanOrEqual(before);
    expect(await t.store.oauth.findCode(hashOf(2))).toBeUndefined();
  });

  it('uses a code once: the first use wins, a second and an unknown code do not', async () => {
    const alice = await createUser(t.store, 'alice');
    const uploader = await app(t.store, alice.id, 'uploader');
    await t.store.oauth.createCode(code(uploader.id, alice.id, 1));
    expect(await t.store.oauth.useCode(hashOf(1), 1_234)).toBe(true);
    expect(await t.store.oauth.useCode(hashOf(1), 5_678)).toBe(false);
    expect((await t.store.oauth.findCode(hashOf(1)))?.used_at).toBe(1_234);
    expect(await t.store.oauth.useCode(hashOf(2), 1_234)).toBe(false);
  });

  it('lets exactly one of many exchanges racing for a code, on several processes, use it', async () => {
    const alice = await createUser(t.store, 'alice');
    const uploader = await app(t.store, alice.id, 'uploader');
    const stores = [t.store, await t.peer(), await t.peer()];
    for (let round = 0; round < 10; round++) {
      await t.store.oauth.createCode(code(uploader.id, alice.id, round));
      const wins = await Promise.all(
        stores.flatMap((store) => [1, 2].map((at) => store.oauth.useCode(hashOf(round), at))),
      );
      expect(wins.filter(Boolean), `round ${round}`).toHaveLength(1);
    }
  });

  it('keeps expired codes for a day, so that a late second use can still revoke its token', async () => {
    const alice = await createUser(t.store, 'alice');
    const uploader = await app(t.store, alice.id, 'uploader');
    const now = Date.now();
    await t.store.oauth.createCode(code(uploader.id, alice.id, 1, { expiresAt: now - DAY - 60_000 }));
    await t.store.oauth.createCode(code(uploader.id, alice.id, 2, { expiresAt: now - DAY + 60_000 }));
    // Each new code sweeps those that expired more than a day ago.
    await t.store.oauth.createCode(code(uploader.id, alice.id, 3));
    expect(await t.store.oauth.findCode(hashOf(1))).toBeUndefined();
    expect((await t.store.oauth.findCode(hashOf(2)))?.expires_at).toBe(now - DAY + 60_000);
    expect(await t.store.oauth.findCode(hashOf(3))).toBeDefined();
  });

  it('issues a token for a code as one of the user’s tokens, and revokes it when the code comes back', async () => {
    const alice = await createUser(t.store, 'alice');
    const uploader = await app(t.store, alice.id, 'uploader');
    await t.store.oauth.createCode(code(uploader.id, alice.id, 1));
    expect(await t.store.oauth.useCode(hashOf(1), Date.now())).toBe(true);
    const token = await t.store.oauth.issueToken(hashOf(1), tokenOf(uploader.id, alice.id, 100));
    expect(token).toMatchObject({
      user_id: alice.id,
      token_hash: hashOf(100),
      token_prefix: 'tok100',
      name: 'Uploader',
      app_id: uploader.id,
      scopes: 'upload',
      last_used_at: null,
    });
    expect(typeof token.id).toBe('number');
    expect((await t.store.oauth.findCode(hashOf(1)))?.token_id).toBe(token.id);
    expect(await t.store.tokens.findByHash(hashOf(100))).toEqual({
      credentialId: token.id,
      user: await t.store.users.findById(alice.id),
      appId: uploader.id,
      scopes: 'upload',
    });
    expect(await t.store.oauth.revokeTokenOfCode(hashOf(1))).toBe(true);
    // Gone at once for this process: the next request with it is refused.
    expect(await t.store.tokens.findByHash(hashOf(100))).toBeUndefined();
    expect(await t.store.oauth.revokeTokenOfCode(hashOf(1))).toBe(false);
    // A code never exchanged, or none at all, has no token to revoke.
    await t.store.oauth.createCode(code(uploader.id, alice.id, 2));
    expect(await t.store.oauth.revokeTokenOfCode(hashOf(2))).toBe(false);
    expect(await t.store.oauth.revokeTokenOfCode(hashOf(3))).toBe(false);
  });

  it('lists a user’s tokens newest first with their app’s name, and revokes only the user’s own', async () => {
    const alice = await createUser(t.store, 'alice');
    const bob = await createUser(t.store, 'bob');
    const uploader = await app(t.store, alice.id, 'uploader');
    const personal = await t.store.tokens.create(alice.id, hashOf(1), 'pre1', 'laptop');
    await t.store.oauth.createCode(code(uploader.id, alice.id, 50));
    const granted = await t.store.oauth.issueToken(hashOf(50), tokenOf(uploader.id, alice.id, 2));
    await t.store.oauth.createCode(code(uploader.id, bob.id, 51));
    const bobs = await t.store.oauth.issueToken(hashOf(51), tokenOf(uploader.id, bob.id, 3));
    expect(await t.store.oauth.listTokens(alice.id)).toEqual([
      { ...granted, app_name: 'uploader' },
      { ...personal, app_name: null },
    ]);
    expect(await t.store.oauth.revokeToken(alice.id, bobs.id)).toBe(false);
    expect(await t.store.tokens.findByHash(hashOf(3))).toBeDefined();
    expect(await t.store.oauth.revokeToken(alice.id, personal.id)).toBe(true);
    expect(await t.store.oauth.revokeToken(alice.id, personal.id)).toBe(false);
    expect(await t.store.tokens.findByHash(hashOf(1))).toBeUndefined();
    expect((await t.store.oauth.listTokens(alice.id)).map((r) => r.id)).toEqual([granted.id]);
    expect((await t.store.oauth.listTokens(bob.id)).map((r) => r.id)).toEqual([bobs.id]);
  });

  it('deletes an app with its codes and every token granted to it, and nothing of anyone else', async () => {
    const alice = await createUser(t.store, 'alice');
    const uploader = await app(t.store, alice.id, 'uploader');
    const viewer = await app(t.store, alice.id, 'viewer');
    await t.store.tokens.create(alice.id, hashOf(1), 'pre1');
    await t.store.oauth.createCode(code(uploader.id, alice.id, 10));
    await t.store.oauth.issueToken(hashOf(10), tokenOf(uploader.id, alice.id, 2));
    await t.store.oauth.createCode(code(uploader.id, alice.id, 11));
    await t.store.oauth.createCode(code(viewer.id, alice.id, 12));
    await t.store.oauth.issueToken(hashOf(12), tokenOf(viewer.id, alice.id, 3));
    expect(await t.store.tokens.findByHash(hashOf(2))).toBeDefined();
    expect(await t.store.oauth.deleteApp(uploader.id)).toBe(true);
    expect(await t.store.oauth.findAppById(uploader.id)).toBeUndefined();
    expect(await t.store.oauth.findCode(hashOf(10))).toBeUndefined();
    expect(await t.store.oauth.findCode(hashOf(11))).toBeUndefined();
    expect(await t.store.tokens.findByHash(hashOf(2))).toBeUndefined();
    expect(await t.store.tokens.findByHash(hashOf(1))).toBeDefined();
    expect(await t.store.tokens.findByHash(hashOf(3))).toBeDefined();
    expect(await t.store.oauth.findCode(hashOf(12))).toBeDefined();
    expect(await t.store.oauth.deleteApp(uploader.id)).toBe(false);
  });
});
