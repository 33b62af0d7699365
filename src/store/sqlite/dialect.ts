import { sql } from 'kysely';
import type { StoreDialect } from '../dialect.ts';
import { dueJobIds } from '../due-jobs.ts';
import { withRelaxedDurability } from '../relaxed-durability.ts';
import { searchImagesSqlite } from './search.ts';

export const sqliteDialect: StoreDialect = {
  kind: 'sqlite',

  /**
   * SQLite has one lock for writing, for the whole database, held from a transaction's first
   * write to its end: a write that changes nothing takes it. Coarser than a lock by name, and as
   * exclusive (across processes too).
   */
  async lock(trx) {
    await trx.deleteFrom('pending_blobs').where('created_at', '<', 0).execute();
  },

  searchImages: searchImagesSqlite,

  async claimJobs(db, { kinds, limit, now, lockedUntil, owner }) {
    // Select, then update, in one transaction: the update takes the write lock, and the one
    // serve per data dir (the pid lock) is the only process that claims.
    const claim = async (trx: typeof db) => {
      const due = await dueJobIds(trx, kinds, now, limit).execute();
      if (due.length === 0) return [];
      return trx
        .updateTable('jobs')
        .set((eb) => ({ locked_until: lockedUntil, lease_owner: owner, attempts: eb('attempts', '+', 1) }))
        .where(
          'id',
          'in',
          due.map((d) => d.id),
        )
        .returningAll()
        .execute();
    };
    return db.isTransaction ? claim(db) : db.transaction().execute(claim);
  },

  rerunPayload: (imageIdRef) =>
    sql<string>`json_object('imageId', ${sql.ref(imageIdRef)}, 'rerun', json('true'))`,

  relaxed: (db, work) => (db.isTransaction ? work(db) : withRelaxedDurability(db, work)),
};
