import type { Kysely, Transaction } from 'kysely';
import { inTransaction } from './dialect.ts';
import type { Database } from './schema.ts';

/**
 * Runs `work` in a transaction of its own (or in the one `db` already is) and resolves once that
 * transaction is durable: what an upload's commit needs before it is acknowledged. How that is
 * done is the store's: SQLite syncs several uploads' commits with one fsync (see
 * sqlite/group-commit.ts); PostgreSQL's commit is durable when it returns.
 */
export type CommitDurably = <T>(
  db: Kysely<Database>,
  work: (trx: Transaction<Database>) => Promise<T>,
) => Promise<T>;

/** A commit that is durable by itself (PostgreSQL; SQLite at synchronous=FULL). */
export const commitInTransaction: CommitDurably = inTransaction;
