import type { ExpressionBuilder, Kysely } from 'kysely';
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

/**
 * What every update of `images` sets its `revision` to: `.set((eb) => ({ ...changes,
 * revision: nextRevision(eb) }))`. A process keeps each image's listed JSON by (seq, revision)
 * and trusts it while the revision read with the page is the same, so an update that leaves the
 * revision as it was leaves the old JSON listed, in every process.
 */
export const nextRevision = (eb: ExpressionBuilder<Database, 'images'>) => eb('revision', '+', 1);
