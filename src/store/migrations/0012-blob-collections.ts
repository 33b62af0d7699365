import type { Kysely } from 'kysely';

/**
 * A collector commits that a blob is unused, then deletes its files outside any transaction
 * (network calls, once blobs are on S3, must not hold a lock). Meanwhile this row makes an
 * upload of the same bytes wait, so that it never writes the bytes just before they are deleted;
 * `until` lets a later upload go ahead (and a later collection take over) when the collector died.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('blob_collections')
    .addColumn('blob_key', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('until', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('blob_collections').ifExists().execute();
}
