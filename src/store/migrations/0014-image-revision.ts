import { type Kysely, sql } from 'kysely';

/**
 * `images.revision`: bumped by every update of the row (see images-version.ts), so that a process
 * may keep an image's listed JSON by (seq, revision) and know it current from a query that reads
 * only those two columns. `seq` is never reused (AUTOINCREMENT, an identity on PostgreSQL).
 * The listing index carries the revision, so that query reads the index alone, not the rows.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('images')
    .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`DROP INDEX images_user_order`.execute(db);
  await sql`CREATE INDEX images_user_order ON images (user_id, created_at DESC, seq DESC, revision)`.execute(
    db,
  );
}
