import fs from 'node:fs/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, SQLITE_FILE } from '../../src/store/index.ts';
import * as initial from '../../src/store/migrations/0001-initial.ts';
import { imageRow } from '../helpers/rows.ts';
import { makeDataDir } from '../helpers/server.ts';

/** The location columns, on a database made before they existed and on a new one. */
describe('images.latitude / images.longitude', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeDataDir();
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('a database from before the location columns gains them, its rows with no location', async () => {
    const file = path.join(dir, SQLITE_FILE);
    const old = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(file) }) });
    const only = { getMigrations: async () => ({ '0001-initial': initial }) };
    expect((await new Migrator({ db: old, provider: only }).migrateToLatest()).error).toBeUndefined();
    const raw = new SQLite(file);
    raw.prepare("INSERT INTO users (uid, name, created_at) VALUES ('u', 'old', 0)").run();
    raw
      .prepare(
        `INSERT INTO images (image_id, user_id, blob_key, type, byte_size, width, height, created_at, uploaded_at)
         VALUES ('${'a'.repeat(32)}', 1, 'k', 'png', 1, 1, 1, 0, 0)`,
      )
      .run();
    raw.close();
    await old.destroy();

    const store = await openSqliteStore(dir);
    try {
      const row = await store.images.findByImageId('a'.repeat(32));
      expect(row).toMatchObject({ latitude: null, longitude: null });
    } finally {
      await store.close();
    }
  });

  it('stores a location with the image and reads it back exactly', async () => {
    const store = await openSqliteStore(dir);
    try {
      const user = await store.users.create({ uid: 'u', name: 'n', email: null, passwordHash: null });
      const row = imageRow(user.id, Date.now(), { latitude: -33.856784, longitude: 151.215297 });
      const inserted = await store.images.insert(row, await store.blobLedger.addPending(row.blob_key, 0));
      expect([inserted.latitude, inserted.longitude]).toEqual([-33.856784, 151.215297]);
      const found = await store.images.findByImageId(row.image_id);
      expect([found?.latitude, found?.longitude]).toEqual([-33.856784, 151.215297]);
    } finally {
      await store.close();
    }
  });
});
