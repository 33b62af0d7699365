import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KyselyBlobLedger } from '../../src/store/blob-ledger.repository.ts';
import { KyselyImageRepository } from '../../src/store/images.repository.ts';
import { type CountedStore, openCountedStore } from '../helpers/counted-store.ts';
import { imageRow } from '../helpers/rows.ts';

/** Image rows by id are cached in process like credentials: until a commit, by anyone. */
describe('image lookups by id cached until a commit', () => {
  let store: CountedStore;
  let images: KyselyImageRepository;
  const insert = async (createdAt: number) => {
    const row = imageRow(store.userId, createdAt);
    const ledger = new KyselyBlobLedger(store.opened.db);
    return images.insert(row, await ledger.addPending(row.blob_key, Date.now()));
  };

  beforeAll(async () => {
    store = await openCountedStore();
    images = new KyselyImageRepository(store.opened.db, store.reader, store.opened.commitDurably);
  });
  afterAll(() => store.close());

  it('reads SQLite once for repeated lookups, and sees this process’s delete at once', async () => {
    const row = await insert(1_000);
    store.queries = 0;
    expect((await images.findByImageId(row.image_id))?.blob_key).toBe(row.blob_key);
    expect((await images.findByImageId(row.image_id))?.blob_key).toBe(row.blob_key);
    expect(store.queries).toBe(1);
    expect(await images.delete(row.image_id, store.userId)).toBeDefined();
    expect(await images.findByImageId(row.image_id)).toBeUndefined();
  });

  it('sees a delete by another process within a second', async () => {
    const row = await insert(2_000);
    expect(await images.findByImageId(row.image_id)).toBeDefined();
    const other = new SQLite(store.file);
    try {
      other.prepare('DELETE FROM images WHERE image_id = ?').run(row.image_id);
      const since = Date.now();
      while ((await images.findByImageId(row.image_id)) && Date.now() - since < 5000) {
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(await images.findByImageId(row.image_id)).toBeUndefined();
      expect(Date.now() - since).toBeLessThan(1000);
    } finally {
      other.close();
    }
  });
});
