import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Bumps the owners' `images_version`, in the transaction that changed their images: cached list
 * pages and page bookmarks are keyed by it (see schema.ts), so every change to what a listing
 * shows must bump it, and only a committed one may.
 */
export async function bumpImagesVersion(trx: Kysely<Database>, userIds: number | number[]): Promise<void> {
  const ids = Array.isArray(userIds) ? userIds : [userIds];
  if (ids.length === 0) return;
  await trx
    .updateTable('users')
    .set((eb) => ({ images_version: eb('images_version', '+', 1) }))
    .where('id', 'in', ids)
    .execute();
}
