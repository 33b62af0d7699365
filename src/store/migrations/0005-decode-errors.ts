import type { Kysely } from 'kysely';

/**
 * Thumbnails are made after the upload answers; an image whose pixels then turn out not to
 * decode keeps the reason here (served with a placeholder thumbnail, reported by fsck).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('images').addColumn('decode_error', 'text').execute();
}
