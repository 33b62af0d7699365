import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSearchQuery } from '../../src/services/search-query.ts';
import { COPIED_TABLES, type CopiedRow, type CopiedTable } from '../../src/store/data-copy.repository.ts';
import { THUMBNAIL_JOB } from '../../src/store/images.repository.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { imageRow } from '../helpers/rows.ts';
import { createUser, forEachStore, hashOf, insertImage, STORE_KINDS, type StoreHome } from './stores.ts';

const T0 = Date.UTC(2024, 4, 20);
const HOUR = 3_600_000;
const TABLES = Object.keys(COPIED_TABLES) as CopiedTable[];

/** Every row of `table`, read as the copy reads them, in pages of `limit`. */
async function allRows(store: MetadataStore, table: CopiedTable, limit = 1_000): Promise<CopiedRow[]> {
  const rows: CopiedRow[] = [];
  let after: string | number | undefined;
  for (;;) {
    const page = await store.dataCopy.rowsAfter(table, after, limit);
    if (page.length === 0) return rows;
    expect(page.length).toBeLessThanOrEqual(limit);
    rows.push(...page);
    after = page[page.length - 1]?.[COPIED_TABLES[table]] as string | number;
  }
}

/** Copies every table from `source` into `target` as `gazo migrate-data` does, a few rows at a time. */
async function copyAll(source: MetadataStore, target: MetadataStore): Promise<void> {
  for (const table of TABLES) {
    let after: string | number | undefined;
    for (;;) {
      const page = await source.dataCopy.rowsAfter(table, after, 3);
      if (page.length === 0) break;
      await target.dataCopy.insertKeepingKeys(table, page);
      after = page[page.length - 1]?.[COPIED_TABLES[table]] as string | number;
    }
  }
  await target.dataCopy.advanceIdentities();
  const identity = await source.dataCopy.identity();
  await target.dataCopy.takeIdentity(identity.id, identity.created_at);
}

/** A store with some of everything a user makes, through the repositories (ids with gaps). */
async function seed(store: MetadataStore) {
  const alice = await store.users.create({
    uid: 'ua',
    name: 'alice',
    email: 'a@example.com',
    passwordHash: 'h',
  });
  const gone = await createUser(store, 'gone');
  const bob = await createUser(store, 'bob');
  await store.users.setDisabled(bob.id, T0);
  await store.tokens.create(alice.id, hashOf(1), 'pre1', 'laptop');
  await store.tokens.touch((await store.tokens.create(bob.id, hashOf(2), 'pre2')).id, T0 + 1);
  await store.tokens.revoke(hashOf(2));
  const app = await store.oauth.createApp({
    userId: alice.id,
    name: 'uploader',
    clientId: 'client-1',
    clientSecretHash: hashOf(3),
    redirectUris: ['https://a.example/cb', 'http://127.0.0.1/cb'],
  });
  const code = {
    appId: app.id,
    userId: alice.id,
    redirectUri: 'https://a.example/cb',
    scopes: 'upload',
    codeChallenge: 'ch',
    codeChallengeMethod: 'S256',
    expiresAt: Date.now() + HOUR,
  };
  await store.oauth.createCode({ ...code, hash: hashOf(4) });
  await store.oauth.useCode(hashOf(4), T0 + 2);
  await store.oauth.issueToken(hashOf(4), {
    userId: alice.id,
    hash: hashOf(5),
    prefix: 'pre5',
    name: 'uploader',
    appId: app.id,
    scopes: 'upload',
  });
  await store.oauth.createCode({ ...code, hash: hashOf(6), codeChallenge: null, codeChallengeMethod: null });
  await store.devices.create(alice.id, hashOf(7), 'pre7');
  await store.sessions.create({
    hash: hashOf(8),
    userId: alice.id,
    expiresAt: Date.now() + HOUR,
    userAgent: 'Firefox',
  });
  await store.sessions.create({
    hash: hashOf(9),
    userId: bob.id,
    expiresAt: Date.now() + HOUR,
    userAgent: null,
  });
  await store.invites.create({
    hash: hashOf(10),
    createdBy: alice.id,
    createdAt: Date.now(),
    expiresAt: Date.now() + HOUR,
  });
  await store.invites.create({
    hash: hashOf(11),
    createdBy: alice.id,
    createdAt: Date.now(),
    expiresAt: Date.now() + HOUR,
  });
  await store.invites.redeem(hashOf(11), Date.now(), {
    uid: 'uc',
    name: 'carol',
    email: null,
    passwordHash: 'h',
  });
  const images = [];
  for (let i = 0; i < 5; i++) {
    const row = imageRow(i === 4 ? bob.id : alice.id, T0 + i * 1000, {
      title: `shot ${i}`,
      metadata_is_public: i % 2 === 0,
      latitude: i === 1 ? 35.681236 : null,
      longitude: i === 1 ? 139.767125 : null,
      ocr_locale: i === 2 ? 'jpn' : null,
      ocr_text: i === 2 ? '東京の地図' : '',
      alt_text: i === 3 ? 'a cat' : '',
    });
    images.push(
      await store.images.insert(row, await store.blobLedger.addPending(row.blob_key, Date.now()), [
        { kind: THUMBNAIL_JOB, payload: { blobKey: row.blob_key } },
      ]),
    );
  }
  await store.images.delete(images[0]?.image_id as string, alice.id);
  await store.images.recordDecodeError(images[3]?.blob_key as string, 'truncated');
  await store.importSources.begin(alice.id, 'gyazo.com', 's1', T0);
  await store.importSources.finish(alice.id, 'gyazo.com', 's1', images[1]?.image_id as string, T0 + 5);
  await store.importSources.begin(alice.id, 'gyazo.com', 's2', T0);
  await store.jobs.enqueue({
    kind: 'ocr.read',
    payload: { imageId: images[2]?.image_id, rerun: true },
    runAt: T0,
  });
  await store.jobs.enqueue({ kind: 'odd', payload: 'not an object' });
  await store.secrets.getOrCreate('cookie', () => 'source cookie secret');
  return { alice, gone, bob, images };
}

for (const [from, to] of [
  ['sqlite', 'postgres'],
  ['postgres', 'sqlite'],
] as const) {
  describe(`data copy ${from} → ${to}`, () => {
    const homes: StoreHome[] = [];
    const stores: MetadataStore[] = [];
    let source: MetadataStore;
    let target: MetadataStore;
    beforeEach(async () => {
      for (const kind of [from, to]) homes.push(await STORE_KINDS[kind]());
      source = await (homes[0] as StoreHome).open();
      target = await (homes[1] as StoreHome).open();
      stores.push(source, target);
    });
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
      for (const home of homes.splice(0)) await home.remove();
    });

    it('copies every table row for row, the same values read back, and the copy works as the original', async () => {
      const { alice, bob, images } = await seed(source);
      // A fresh target made its own secret on its first start; the copy's replaces it.
      await target.secrets.getOrCreate('cookie', () => 'target cookie secret');
      expect(await target.dataCopy.holdsUserData()).toBe(false);
      await copyAll(source, target);
      for (const table of TABLES) {
        const rows = await allRows(source, table);
        expect(await allRows(target, table), table).toEqual(rows);
        expect(await target.dataCopy.count(table), table).toBe(rows.length);
      }
      expect(await target.dataCopy.holdsUserData()).toBe(true);
      expect(await target.integrity.dataDirId()).toBe(await source.integrity.dataDirId());
      expect(await target.dataCopy.identity()).toEqual(await source.dataCopy.identity());

      // What the services read comes out the same on the copy.
      expect(await target.users.list()).toEqual(await source.users.list());
      expect(await target.tokens.findByHash(hashOf(1))).toEqual(await source.tokens.findByHash(hashOf(1)));
      expect((await target.tokens.findByHash(hashOf(5)))?.scopes).toBe('upload');
      expect((await target.devices.findByHash(hashOf(7)))?.user.name).toBe('alice');
      expect((await target.sessions.findByHash(hashOf(8)))?.session.user_agent).toBe('Firefox');
      expect(await target.oauth.findAppByClientId('client-1')).toEqual(
        await source.oauth.findAppByClientId('client-1'),
      );
      expect(await target.invites.listUsable(Date.now())).toEqual(
        await source.invites.listUsable(Date.now()),
      );
      const owner = (await target.users.findById(alice.id)) as NonNullable<
        Awaited<ReturnType<MetadataStore['users']['findById']>>
      >;
      expect(await target.images.listByUser(owner, 0, 10)).toEqual(
        await source.images.listByUser(owner, 0, 10),
      );
      expect(await target.images.findByImageId(images[1]?.image_id as string)).toEqual(
        await source.images.findByImageId(images[1]?.image_id as string),
      );
      // The copy's search index follows its rows: text, OCR and alt text found.
      for (const query of ['東京', 'shot 3', 'cat', 'alt_text:cat']) {
        expect(await target.images.search(alice.id, parseSearchQuery(query), 0, 10), query).toEqual(
          await source.images.search(alice.id, parseSearchQuery(query), 0, 10),
        );
      }
      expect((await target.images.search(alice.id, parseSearchQuery('東京'), 0, 10)).total).toBe(1);
      expect(await target.integrity.blobKeysAwaitingCollection()).toEqual([images[0]?.blob_key]);
      expect((await target.integrity.blobKeysAwaitingThumbnail()).sort()).toEqual(
        (await source.integrity.blobKeysAwaitingThumbnail()).sort(),
      );
      expect(await target.importSources.listForUser(alice.id)).toEqual(
        expect.arrayContaining(await source.importSources.listForUser(alice.id)),
      );
      expect(await target.secrets.getOrCreate('cookie', () => 'new')).toBe('source cookie secret');

      // New rows on the copy take ids past the copied ones, in every table.
      const dave = await createUser(target, 'dave');
      expect(dave.id).toBeGreaterThan(Math.max(...(await source.users.list()).map((u) => u.id)));
      const token = await target.tokens.create(dave.id, hashOf(20), 'pre20');
      expect(token.id).toBeGreaterThan(
        Math.max(...(await allRows(source, 'access_tokens')).map((r) => Number(r.id))),
      );
      const image = await insertImage(target, imageRow(bob.id, T0));
      expect(image.seq).toBeGreaterThan(Math.max(...images.map((i) => i.seq)));
      await target.jobs.enqueue({ kind: 'after', payload: {} });
      const jobIds = (await allRows(target, 'jobs')).map((r) => Number(r.id));
      expect(new Set(jobIds).size).toBe(jobIds.length);
    });

    it('copies again over an interrupted copy without changing or doubling a row, and back again', async () => {
      await seed(source);
      // The first run died half-way through the images.
      for (const table of TABLES.slice(0, TABLES.indexOf('images')))
        await target.dataCopy.insertKeepingKeys(table, await allRows(source, table));
      await target.dataCopy.insertKeepingKeys('images', (await allRows(source, 'images')).slice(0, 2));
      await copyAll(source, target);
      for (const table of TABLES)
        expect(await allRows(target, table), table).toEqual(await allRows(source, table));

      // And from the copy into a third store of the first kind: the original, row for row.
      const home = await STORE_KINDS[from]();
      homes.push(home);
      const back = await home.open();
      stores.push(back);
      await copyAll(target, back);
      for (const table of TABLES)
        expect(await allRows(back, table), table).toEqual(await allRows(source, table));
    });
  });
}

forEachStore('data copy', (t) => {
  it('reads any table in key order, a page after a key, with numbers for ids, times and counts', async () => {
    const users = [];
    for (const name of ['mallory', 'alice', 'trent', 'bob', 'carol'])
      users.push(await createUser(t.store, name));
    const page = await t.store.dataCopy.rowsAfter('users', undefined, 2);
    expect(page.map((r) => r.name)).toEqual(['mallory', 'alice']);
    expect(typeof page[0]?.id).toBe('number');
    expect(typeof page[0]?.created_at).toBe('number');
    expect(typeof page[0]?.is_admin).toBe('number');
    const rest = await t.store.dataCopy.rowsAfter('users', page[1]?.id as number, 10);
    expect(rest.map((r) => r.name)).toEqual(['trent', 'bob', 'carol']);
    expect(await t.store.dataCopy.rowsAfter('users', users[4]?.id, 10)).toEqual([]);
    const count = await t.store.dataCopy.count('users');
    expect(count).toBe(5);
    expect(typeof count).toBe('number');
    // A text key pages in its own order.
    for (const name of ['b', 'a', 'c']) await t.store.secrets.getOrCreate(name, () => `v${name}`);
    expect((await t.store.dataCopy.rowsAfter('server_secrets', 'a', 10)).map((r) => r.name)).toEqual([
      'b',
      'c',
    ]);
  });

  it('keeps the keys it is given, leaves a row already there as it is, and fails on any other conflict', async () => {
    const row = (id: number, name: string) => ({
      id,
      uid: `u${id}`,
      name,
      email: null,
      password_hash: null,
      image_count: 0,
      images_version: 0,
      created_at: T0 + id,
      is_admin: 0,
      disabled_at: null,
    });
    await t.store.dataCopy.insertKeepingKeys('users', [row(7, 'alice'), row(3, 'bob')]);
    await t.store.dataCopy.insertKeepingKeys('users', [row(7, 'someone else'), row(9, 'carol')]);
    await t.store.dataCopy.insertKeepingKeys('users', []);
    expect((await t.store.users.list()).map((u) => [u.id, u.name, u.created_at])).toEqual([
      [3, 'bob', T0 + 3],
      [7, 'alice', T0 + 7],
      [9, 'carol', T0 + 9],
    ]);
    // Another row with a name that is taken: the batch fails, and nothing of it is written.
    await expect(
      t.store.dataCopy.insertKeepingKeys('users', [row(10, 'dave'), row(11, 'alice')]),
    ).rejects.toThrow();
    expect(await t.store.dataCopy.count('users')).toBe(3);
    await t.store.dataCopy.advanceIdentities();
    expect((await createUser(t.store, 'erin')).id).toBeGreaterThan(9);
  });

  it('replaces the secrets a fresh store made, and never writes what the database computes', async () => {
    await t.store.secrets.getOrCreate('cookie', () => 'made here');
    await t.store.dataCopy.insertKeepingKeys('server_secrets', [
      { name: 'cookie', value: 'copied', created_at: T0 },
    ]);
    expect(await t.store.secrets.getOrCreate('cookie', () => 'new')).toBe('copied');
    expect(await t.store.dataCopy.rowsAfter('server_secrets', undefined, 10)).toEqual([
      { name: 'cookie', value: 'copied', created_at: T0 },
    ]);
    // A job read from another store carries its computed subjects: they are worked out again here.
    const job = {
      id: 40,
      kind: THUMBNAIL_JOB,
      payload: JSON.stringify({ blobKey: 'b1', imageId: 'i1' }),
      run_at: T0,
      attempts: 2,
      locked_until: null,
      last_error: 'e',
      failed_at: null,
      created_at: T0,
      lease_owner: null,
      image_id: 'stale',
      blob_key: 'stale',
    };
    await t.store.dataCopy.insertKeepingKeys('jobs', [job]);
    expect(await t.store.dataCopy.rowsAfter('jobs', undefined, 10)).toEqual([
      { ...job, image_id: 'i1', blob_key: 'b1' },
    ]);
  });

  it('takes over the identity of the data dir it copies', async () => {
    const own = await t.store.dataCopy.identity();
    expect(typeof own.created_at).toBe('number');
    await t.store.dataCopy.takeIdentity('copied-id', T0);
    expect(await t.store.dataCopy.identity()).toEqual({ id: 'copied-id', created_at: T0 });
    expect(await t.store.integrity.dataDirId()).toBe('copied-id');
  });
});
