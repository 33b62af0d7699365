import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { migrate } from '../database.ts';
import type { Database } from '../schema.ts';
import { postgresChangeCounter } from './change-counter.ts';

/** pg's type ids whose text it hands over as strings by default. */
const INT8 = 20;
const NUMERIC = 1700;

/**
 * Times are integer milliseconds in `bigint` columns and counts are `bigint`: pg answers both as
 * strings (they may exceed 2^53). Ours never do (ms until the year 287396), so they are numbers
 * here, for this pool only, as the schema's types say.
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 || oid === NUMERIC
      ? Number
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Connections per process: uploads, reads and the job worker share them. */
const POOL_SIZE = 10;

/**
 * Opens the database at `url` (postgres://…) and brings its schema up to date. `changeCounter`
 * tells the in-process caches when anything may have been committed (see change-counter.ts).
 */
export async function openPostgres(
  url: string,
): Promise<{ db: Kysely<Database>; pool: pg.Pool; changeCounter(): number | undefined }> {
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE, types });
  // An idle connection the server drops (a restart, a failover) must not take the process down:
  // the pool replaces it, and the next query through it reports any lasting trouble.
  pool.on('error', () => undefined);
  const watched = postgresChangeCounter(pool);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: watched.pool }) });
  try {
    await migrate(db);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return { db, pool, changeCounter: watched.changeCounter };
}
