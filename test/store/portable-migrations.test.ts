import { type Generated, type Kysely, sql } from 'kysely';
import { expect, it } from 'vitest';
import { forMigrations } from '../../src/store/database.ts';
import { byDialect } from '../../src/store/migrations/portable.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { forEachStore } from '../contracts/stores.ts';

interface Sample {
  samples: {
    id: Generated<number>;
    ratio: number;
    data: Buffer | null;
    flag: Generated<number>;
    at: number;
    name: string;
  };
}

/** A migration as another branch would write it, the SQLite way (see migrations/portable.ts). */
async function sampleMigration(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('samples')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('ratio', 'real', (c) => c.notNull())
    .addColumn('data', 'blob')
    .addColumn('flag', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .execute();
  await sql`CREATE INDEX samples_flagged ON samples (at) WHERE flag = 1`.execute(db);
  await byDialect(db, {
    sqlite: async (d) =>
      void (await sql`CREATE INDEX samples_name_nocase ON samples (name COLLATE NOCASE)`.execute(d)),
    postgres: async (d) =>
      void (await sql`CREATE INDEX samples_name_lower ON samples (lower(name))`.execute(d)),
  });
}

// Reaches under the store for its Kysely instance: only this test needs it.
const kyselyOf = (store: MetadataStore) => (store.users as unknown as { db: Kysely<Sample> }).db;

forEachStore('a migration written the SQLite way', (t) => {
  it('runs on both: auto-increment ids, full-precision reals, blobs, partial and per-dialect indexes', async () => {
    const db = kyselyOf(t.store);
    await sampleMigration(forMigrations(db) as unknown as Kysely<unknown>);
    const ratio = 0.1 + 0.2;
    const rows = await db
      .insertInto('samples')
      .values([
        { ratio, data: Buffer.from([0, 1, 255]), at: 1_700_000_000_123, name: 'a', flag: 0 },
        { ratio: 1 / 3, data: null, at: 1, name: 'b', flag: 1 },
      ])
      .returningAll()
      .execute();
    expect(rows.map((r) => r.id)).toEqual([1, 2]);
    const [first] = await db.selectFrom('samples').selectAll().where('name', '=', 'a').execute();
    expect(first).toEqual({
      id: 1,
      ratio,
      data: Buffer.from([0, 1, 255]),
      flag: 0,
      at: 1_700_000_000_123,
      name: 'a',
    });
    await expect(db.insertInto('samples').values({ ratio: 1, at: 1, name: 'a' }).execute()).rejects.toThrow();
  });
});
