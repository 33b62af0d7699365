import type { Kysely } from 'kysely';

/**
 * `images.revision`: bumped by every update of the row (see images-version.ts), so that a process
 * may keep an image's listed JSON by (seq, revision) and know it current from a query that reads
 * only those two columns. `seq` is never reused (AUTOINCREMENT, an identity on PostgreSQL).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('images')
    .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}
