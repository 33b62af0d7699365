import { sql } from 'kysely';
import type { StoreDialect } from '../dialect.ts';
import { dueJobIds } from '../due-jobs.ts';
import { LIVENESS_SPACE } from './liveness.ts';
import { searchImagesPostgres } from './search.ts';

/**
 * A lease whose owner token names a liveness key (its first 8 hex digits, 0 for none) that no
 * session of this database holds any more: its process died (see liveness.ts).
 */
const holderKey = sql`('x' || substr(jobs.lease_owner, 1, 8))::bit(32)::int::bigint`;
const holderDead = sql<boolean>`(length(jobs.lease_owner) = 32 AND ${holderKey} <> 0 AND ${holderKey} NOT IN (
  SELECT l.objid::bigint FROM pg_locks l
  WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2 AND l.classid = ${LIVENESS_SPACE}::bigint::oid
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())))`;

/** The first key of Gazo's advisory locks ('gazo'), so that other users of the database never clash. */
const LOCK_SPACE = 0x67617a6f;
const LOCK_SLOTS = 1024;

export const postgresDialect: StoreDialect = {
  kind: 'postgres',

  /**
   * A transaction-level advisory lock, released by the commit or rollback (or the connection's
   * end, if the process dies). Names share LOCK_SLOTS slots by hash, under Gazo's own key space:
   * a transaction that registers thousands of blobs holds at most that many locks (each lock
   * takes room in the server's shared lock table), and two names in one slot only wait for each
   * other, which is never wrong.
   */
  async lock(trx, name) {
    await sql`SELECT pg_advisory_xact_lock(${LOCK_SPACE}, hashtext(${name}) & ${LOCK_SLOTS - 1})`.execute(
      trx,
    );
  },

  searchImages: searchImagesPostgres,

  /**
   * One statement: the due rows are locked as they are picked (in a CTE, so picked once), and
   * rows another claimer has locked (it is claiming them right now) are skipped rather than
   * waited for, so any number of workers claim at once and never the same job. A row is due when
   * unleased, its lease expired or its holder died (liveness.ts); once picked, PostgreSQL checks
   * that again on its latest version.
   */
  async claimJobs(db, { kinds, limit, now, lockedUntil, owner }) {
    return db
      .with('due', () => dueJobIds(db, kinds, now, limit, holderDead).forUpdate().skipLocked())
      .updateTable('jobs')
      .from('due')
      .set((eb) => ({
        locked_until: lockedUntil,
        lease_owner: owner,
        attempts: eb('jobs.attempts', '+', 1),
      }))
      .whereRef('jobs.id', '=', 'due.id')
      .returningAll('jobs')
      .execute();
  },

  rerunPayload: (imageIdRef) =>
    sql<string>`json_build_object('imageId', ${sql.ref(imageIdRef)}, 'rerun', true)::text`,

  // Every commit waits for its WAL flush; these are few next to the uploads that share the pool.
  relaxed: (db, work) => work(db),
};
