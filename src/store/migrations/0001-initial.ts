import { type Kysely, sql } from 'kysely';
import * as postgresDdl from '../postgres/ddl.ts';
import * as sqliteDdl from '../sqlite/ddl.ts';
import { byDialect } from './portable.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('uid', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('email', 'text')
    .addColumn('password_hash', 'text')
    .addColumn('image_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('images_version', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('access_tokens')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('token_prefix', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .execute();
  await db.schema.createIndex('access_tokens_user').on('access_tokens').column('user_id').execute();

  await db.schema
    .createTable('devices')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('device_hash', 'text', (c) => c.notNull().unique())
    .addColumn('device_prefix', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .execute();
  await db.schema.createIndex('devices_user').on('devices').column('user_id').execute();

  await db.schema
    .createTable('images')
    .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('image_id', 'text', (c) => c.notNull().unique())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('blob_key', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('byte_size', 'integer', (c) => c.notNull())
    .addColumn('width', 'integer', (c) => c.notNull())
    .addColumn('height', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('uploaded_at', 'bigint', (c) => c.notNull())
    .addColumn('app', 'text')
    .addColumn('title', 'text')
    .addColumn('url', 'text')
    .addColumn('desc', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('metadata_is_public', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('access_policy', 'text', (c) => c.notNull().defaultTo('anyone'))
    .addColumn('ocr_locale', 'text')
    .addColumn('ocr_text', 'text', (c) => c.notNull().defaultTo(''))
    .execute();
  // Listing walks this index newest first; keyset seeks land on it directly.
  await sql`CREATE INDEX images_user_order ON images (user_id, created_at DESC, seq DESC)`.execute(db);
  await db.schema.createIndex('images_blob').on('images').column('blob_key').execute();

  // Search: substrings, Japanese included (FTS5 trigram on SQLite, pg_trgm on PostgreSQL).
  await byDialect(db, { sqlite: sqliteDdl.createSearchIndex, postgres: postgresDdl.createSearchIndex });

  // Blobs being written by an upload that has not committed its row yet: the sweep after a
  // crash deletes exactly these (when nothing else uses them), so no orphan file survives.
  await db.schema
    .createTable('pending_blobs')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('blob_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('pending_blobs_key').on('pending_blobs').column('blob_key').execute();

  await db.schema
    .createTable('jobs')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('run_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', 'bigint')
    .addColumn('last_error', 'text')
    .addColumn('failed_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jobs_due').on('jobs').columns(['failed_at', 'run_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'jobs',
    'pending_blobs',
    // SQLite's search index (PostgreSQL's indexes go with the table).
    'images_fts',
    'images',
    'devices',
    'access_tokens',
    'users',
  ]) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
