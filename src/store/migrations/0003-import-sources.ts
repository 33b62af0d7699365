import type { Kysely } from 'kysely';

/**
 * Which source images a user's account already holds, so that `gazo import` run again brings
 * only what is new. A row with no image_id is an import begun and not known to have finished
 * (the process died between the upload and this record): the next run settles it by looking
 * for the image, rather than uploading it twice.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('import_sources')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('source_image_id', 'text', (c) => c.notNull())
    .addColumn('image_id', 'text')
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('imported_at', 'bigint')
    .addUniqueConstraint('import_sources_unique', ['user_id', 'source', 'source_image_id'])
    .execute();
  await db.schema.createIndex('import_sources_image').on('import_sources').column('image_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('import_sources').ifExists().execute();
}
