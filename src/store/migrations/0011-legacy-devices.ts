import type { Kysely } from 'kysely';

/**
 * Legacy desktop clients that arrive without a device id (`--legacy-anonymous-devices`):
 * - `anonymous_devices`: a device id made for such a client, linked to nobody yet. The id is
 *   stored hashed, as `devices` stores it; `address_hash` (SHA-256 of the client address) bounds
 *   how many one address may make. Linking moves the device into `devices` under its user.
 * - `held_images.device_id`: an upload of such a device, held for nobody (not listed, not shown)
 *   until the device is linked, or deleted when its time is up. Its `token_hash` is the
 *   `X-Gyazo-Session-Token` the upload answered, which the client appends to the permalink.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('anonymous_devices')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('device_hash', 'text', (c) => c.notNull().unique())
    .addColumn('device_prefix', 'text', (c) => c.notNull())
    .addColumn('address_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('anonymous_devices_address')
    .on('anonymous_devices')
    .columns(['address_hash', 'created_at'])
    .execute();
  await db.schema
    .alterTable('held_images')
    .addColumn('device_id', 'integer', (c) => c.references('anonymous_devices.id'))
    .execute();
  await db.schema.createIndex('held_images_device').on('held_images').column('device_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('held_images_device').ifExists().execute();
  await db.schema.alterTable('held_images').dropColumn('device_id').execute();
  await db.schema.dropTable('anonymous_devices').ifExists().execute();
}
