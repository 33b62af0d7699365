import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/index.ts';
import type { NewImageRow } from '../../src/store/schema.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { imageRow } from '../helpers/rows.ts';
import { makeDataDir } from '../helpers/server.ts';

/** The image repository against a real SQLite file: ordering, deep pages, counts, search, delete. */
describe('KyselyImageRepository (SQLite)', () => {
  let dir: string;
  let store: MetadataStore;
  let userId: number;
  let otherId: number;

  /** The owner's row as it is now, as authentication would hand it to a listing. */
  const owner = async () => {
    const row = await store.users.findById(userId);
    if (!row) throw new Error('no user');
    return row;
  };

  const insert = async (row: NewImageRow) =>
    store.images.insert(row, await store.blobLedger.addPending(row.blob_key, Date.now()));

  beforeAll(async () => {
    dir = await makeDataDir();
    store = await openSqliteStore(dir);
    userId = (await store.users.create({ uid: 'u1', name: 'pager', email: null, passwordHash: null })).id;
    otherId = (await store.users.create({ uid: 'u2', name: 'other', email: null, passwordHash: null })).id;
  });
  afterAll(async () => {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('pages newest first with the same rows at every depth as a plain OFFSET would give', async () => {
    // 2,345 images with many equal created_at values, inserted out of order.
    const n = 2345;
    for (let i = 0; i < n; i++) await insert(imageRow(userId, 1_000_000 + ((i * 7919) % 600) * 1000));
    await insert(imageRow(otherId, 5_000_000));

    const all: string[] = [];
    for (let offset = 0; offset < n; offset += 100) {
      const page = await store.images.listByUser(await owner(), offset, 100);
      expect(page.total).toBe(n);
      all.push(...page.rows.map((r) => r.image_id));
    }
    expect(all).toHaveLength(n);
    expect(new Set(all).size).toBe(n);

    // The same order as sorting every row by (created_at desc, seq desc).
    const { rows } = await store.images.listByUser(await owner(), 0, 100);
    expect(rows[0]?.created_at).toBeGreaterThanOrEqual(rows[99]?.created_at ?? 0);
    const expected = [...(await listAllDirect())].map((r) => r.image_id);
    expect(all).toEqual(expected);

    // Odd offsets around bookmark boundaries.
    for (const offset of [499, 500, 501, 999, 1000, 1001, 2344]) {
      const page = await store.images.listByUser(await owner(), offset, 3);
      expect(page.rows.map((r) => r.image_id)).toEqual(expected.slice(offset, offset + 3));
    }
    expect((await store.images.listByUser(await owner(), n, 20)).rows).toEqual([]);
  });

  it('sees inserts and deletes made after bookmarks were cached', async () => {
    const before = await store.images.listByUser(await owner(), 1200, 5);
    const newest = await insert(imageRow(userId, 9_000_000));
    const after = await store.images.listByUser(await owner(), 1201, 5);
    expect(after.rows.map((r) => r.image_id)).toEqual(before.rows.map((r) => r.image_id));
    expect(after.total).toBe(before.total + 1);

    expect(await store.images.delete(newest.image_id, otherId)).toBeUndefined();
    expect((await store.images.delete(newest.image_id, userId))?.image_id).toBe(newest.image_id);
    const again = await store.images.listByUser(await owner(), 1200, 5);
    expect(again.rows.map((r) => r.image_id)).toEqual(before.rows.map((r) => r.image_id));
    expect(again.total).toBe(before.total);
  });

  it('queues blob collection only when the last image using a blob is deleted', async () => {
    const shared = randomBytes(32).toString('hex');
    const a = await insert(imageRow(userId, 1, { blob_key: shared }));
    const b = await insert(imageRow(userId, 2, { blob_key: shared }));
    const jobsBefore = await store.jobs.countPending();
    await store.images.delete(a.image_id, userId);
    expect(await store.jobs.countPending()).toBe(jobsBefore);
    await store.images.delete(b.image_id, userId);
    expect(await store.jobs.countPending()).toBe(jobsBefore + 1);
  });

  it('searches substrings in any field, Japanese included, short terms too, only for the owner', async () => {
    const mine = await insert(
      imageRow(userId, 10, {
        title: 'スクリーンショット of the dashboard',
        app: 'Firefox',
        desc: 'Quarterly ÉTAT',
      }),
    );
    await insert(imageRow(otherId, 10, { title: 'スクリーンショット too' }));
    const find = async (...terms: string[]) =>
      (await store.images.search(userId, { terms: terms.map((text) => ({ text })) }, 0, 10)).rows.map(
        (r) => r.image_id,
      );
    expect(await find('リーンショ')).toEqual([mine.image_id]);
    expect(await find('dashb')).toEqual([mine.image_id]);
    expect(await find('firefox', 'quarterly')).toEqual([mine.image_id]);
    expect(await find('ショ')).toEqual([mine.image_id]);
    expect(await find('firefox', 'nothere')).toEqual([]);
    expect(await find('"quoted" OR *')).toEqual([]);
    expect(await find('100%')).toEqual([]);
  });

  async function listAllDirect() {
    // A plain connection of its own: the order as SQLite sorts every row, no bookmarks involved.
    const sqlite = new SQLite(path.join(dir, 'gazo.sqlite'), { readonly: true });
    try {
      return sqlite
        .prepare('SELECT image_id FROM images WHERE user_id = ? ORDER BY created_at DESC, seq DESC')
        .all(userId) as Array<{ image_id: string }>;
    } finally {
      sqlite.close();
    }
  }
});
