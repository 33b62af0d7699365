import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';

/**
 * A stable identity for the data dir: a random id made once, when the database is created (or
 * first migrated). `gazo backup` writes it into the backup's marker, and refuses to write over a
 * folder that holds anything but an earlier backup of the data dir with this id.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('data_dir')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await sql`INSERT INTO data_dir (id, created_at) VALUES (${randomUUID()}, ${Date.now()})`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('data_dir').ifExists().execute();
}
