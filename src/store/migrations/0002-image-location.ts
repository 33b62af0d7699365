import type { Kysely } from 'kysely';

/**
 * Where a photo was taken, from its EXIF GPS block, before that is stripped from the served file.
 * Null when the upload had none (screenshots never do). Shown to the image's owner only.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('images').addColumn('latitude', 'real').execute();
  await db.schema.alterTable('images').addColumn('longitude', 'real').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('images').dropColumn('longitude').execute();
  await db.schema.alterTable('images').dropColumn('latitude').execute();
}
