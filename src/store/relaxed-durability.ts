import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Runs `work` on the one connection with `synchronous = NORMAL`: its commits reach the WAL but
 * are not each fsynced, which better-sqlite3 would do on the event loop (a millisecond or more
 * per commit, in every request's way). The next durable commit (an upload's, see
 * sqlite/group-commit.ts, or any at FULL) syncs the WAL and with it these. A crash of the
 * process loses nothing; a power cut may lose the last of them. Only for bookkeeping whose loss
 * repeats idempotent work: a job's claim or its end.
 */
export function withRelaxedDurability<T>(
  db: Kysely<Database>,
  work: (db: Kysely<Database>) => Promise<T>,
): Promise<T> {
  return db.connection().execute(async (connection) => {
    await sql`PRAGMA synchronous = NORMAL`.execute(connection);
    try {
      return await work(connection);
    } finally {
      await sql`PRAGMA synchronous = FULL`.execute(connection);
    }
  });
}
