import { type Kysely, PostgresAdapter, type RawBuilder, type Transaction } from 'kysely';
import { postgresDialect } from './postgres/dialect.ts';
import type { Database, JobRow } from './schema.ts';
import { sqliteDialect } from './sqlite/dialect.ts';
import type { SearchCriteria, SearchPage } from './types.ts';

export type DialectKind = 'sqlite' | 'postgres';

/**
 * What the two SQL dialects do differently; everything else in store/ is shared Kysely code.
 * The repositories find theirs from the Kysely instance they were given (`dialectOf`), so a
 * repository bound to a transaction needs nothing more than the transaction.
 */
export interface StoreDialect {
  kind: DialectKind;
  /**
   * Holds the lock called `name` until `trx` ends: two transactions taking the same name never
   * overlap from that point on. Take it before reading what it protects.
   */
  lock(trx: Transaction<Database>, name: string): Promise<void>;
  /** See ImageRepository.search. */
  searchImages(
    db: Kysely<Database>,
    userId: number,
    criteria: SearchCriteria,
    offset: number,
    limit: number,
  ): Promise<SearchPage>;
  /**
   * Leases up to `limit` due jobs of `kinds` (never one another claimer holds an unexpired lease
   * on) to `owner` until `lockedUntil`, counting the attempt; answers the leased rows.
   */
  claimJobs(
    db: Kysely<Database>,
    claim: { kinds: string[]; limit: number; now: number; lockedUntil: number; owner: string },
  ): Promise<JobRow[]>;
  /** A job payload `{"imageId": <ref>, "rerun": true}` as JSON text, built in SQL. */
  rerunPayload(imageIdRef: string): RawBuilder<string>;
  /** Runs bookkeeping writes whose loss in a power cut repeats idempotent work (see relaxed-durability.ts). */
  relaxed<T>(db: Kysely<Database>, work: (db: Kysely<Database>) => Promise<T>): Promise<T>;
}

/** Which dialect a Kysely instance (or a transaction of it, or a migration's) speaks. */
// biome-ignore lint/suspicious/noExplicitAny: migrations get Kysely<unknown>, repositories Kysely<Database>
export function dialectKind(db: Kysely<any>): DialectKind {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

export function dialectOf(db: Kysely<Database>): StoreDialect {
  return dialectKind(db) === 'postgres' ? postgresDialect : sqliteDialect;
}

/** Runs `work` in a transaction of its own, or in the one `db` already is. */
export function inTransaction<T>(
  db: Kysely<Database>,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  if (db.isTransaction) return work(db as Transaction<Database>);
  return db.transaction().execute(work);
}
