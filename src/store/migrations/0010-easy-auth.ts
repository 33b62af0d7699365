import type { Kysely } from 'kysely';

/**
 * `held_images`: images that are stored (their blob written, checked and stripped like any
 * upload) but belong to nobody yet. An easy_auth upload waits here for the browser that opens
 * its `get_image_url`; its row holds the hash of that URL's token, the image id it will have,
 * and when it expires. While a row exists its blob counts as used (the collector and fsck ask);
 * an unclaimed row is deleted at `expires_at` by an `image.hold.expire` job, which queues the
 * collection of its blob in the same transaction.
 *
 * `sign_in_started_at`: set when the link was opened by a browser that was not signed in, which
 * then has a short while longer to sign in and complete (see EasyAuthService).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('held_images')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('image_id', 'text', (c) => c.notNull().unique())
    .addColumn('client_id', 'text')
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
    .addColumn('latitude', 'real')
    .addColumn('longitude', 'real')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('sign_in_started_at', 'bigint')
    .execute();
  await db.schema.createIndex('held_images_blob').on('held_images').column('blob_key').execute();
  await db.schema.createIndex('held_images_expiry').on('held_images').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('held_images').ifExists().execute();
}
