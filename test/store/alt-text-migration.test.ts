import fs from 'node:fs/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, type Migration, Migrator, SqliteDialect } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, SQLITE_FILE } from '../../src/store/index.ts';
import * as m1 from '../../src/store/migrations/0001-initial.ts';
import * as m2 from '../../src/store/migrations/0002-image-location.ts';
import * as m3 from '../../src/store/migrations/0003-import-sources.ts';
import * as m4 from '../../src/store/migrations/0004-data-dir-identity.ts';
import * as m5 from '../../src/store/migrations/0005-decode-errors.ts';
import * as m6 from '../../src/store/migrations/0006-job-leases.ts';
import * as m7 from '../../src/store/migrations/0007-web-accounts.ts';
import { makeDataDir } from '../helpers/server.ts';

const BEFORE_ALT_TEXT: Record<string, Migration> = {
  '0001-initial': m1,
  '0002-image-location': m2,
  '0003-import-sources': m3,
  '0004-data-dir-identity': m4,
  '0005-decode-errors': m5,
  '0006-job-leases': m6,
  '0007-web-accounts': m7,
};

/** Migration 0008 on a database that already has images and their search index. */
describe('images.alt_text (migration 0008)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeDataDir();
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('keeps every image findable as before, gives each "" alt text, and indexes alt text from then on', async () => {
    const file = path.join(dir, SQLITE_FILE);
    const old = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(file) }) });
    const provider = { getMigrations: async () => BEFORE_ALT_TEXT };
    expect((await new Migrator({ db: old, provider }).migrateToLatest()).error).toBeUndefined();
    await old.destroy();
    const raw = new SQLite(file);
    raw.prepare("INSERT INTO users (uid, name, created_at) VALUES ('u', 'old', 0)").run();
    const insert = raw.prepare(
      `INSERT INTO images (image_id, user_id, blob_key, type, byte_size, width, height, created_at,
         uploaded_at, title, "desc", app, url, ocr_text)
       VALUES (?, 1, ?, 'png', 1, 1, 1, ?, ?, ?, ?, ?, ?, ?)`,
    );
    insert.run('a'.repeat(32), 'k1', 2, 2, 'Harbour at night', 'first', null, null, '');
    insert.run('b'.repeat(32), 'k2', 1, 1, null, '', 'Firefox', 'https://example.org/x', '請求書 2024');
    raw.close();

    const store = await openSqliteStore(dir);
    try {
      const ids = async (text: string, field?: 'alt_text' | 'title') =>
        (await store.images.search(1, { terms: [{ text, field }] }, 0, 10)).rows.map((r) => r.image_id[0]);
      expect((await store.images.findByImageId('a'.repeat(32)))?.alt_text).toBe('');
      expect(await ids('harbour')).toEqual(['a']);
      expect(await ids('請求書')).toEqual(['b']);
      expect(await ids('example.org')).toEqual(['b']);
      expect(await ids('firefox')).toEqual(['b']);

      await store.images.update('b'.repeat(32), 1, { alt_text: 'A scanned invoice' });
      expect(await ids('scanned')).toEqual(['b']);
      expect(await ids('scanned', 'alt_text')).toEqual(['b']);
      expect(await ids('scanned', 'title')).toEqual([]);
      expect(await ids('請求書')).toEqual(['b']);
      // Deleting an image takes its alt text out of the index too.
      await store.images.delete('b'.repeat(32), 1);
      expect(await ids('scanned')).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
