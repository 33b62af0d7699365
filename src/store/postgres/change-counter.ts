import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/**
 * How long commits by other processes may go unnoticed: the snapshot is asked for at most this
 * often (one round trip), as SQLite's data_version is. Commits by this process are seen at once.
 */
export const OTHER_PROCESS_CHECK_MS = 100;
/** A sample older than this is not trusted: nothing is cached until a fresh one arrives. */
const SAMPLE_TRUSTED_MS = 2 * OTHER_PROCESS_CHECK_MS;

/** Statements that never change data by themselves (a transaction's writes count at its commit). */
const NEVER_WRITES = new Set([
  'SELECT',
  'BEGIN',
  'COMMIT',
  'ROLLBACK',
  'SHOW',
  'SET',
  'SAVEPOINT',
  'RELEASE',
]);
const WRITES_ROWS = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);
/** A SELECT can write through a data-modifying WITH: such SQL counts as a write. */
const WRITE_WORD = /\b(insert|update|delete|merge)\b/i;

/**
 * PostgreSQL's counterpart of SQLite's data_version, for the in-process caches (CommittedCache):
 * a number that moves whenever anything may have been committed since it was last read.
 *
 * Other processes' commits: `pg_current_snapshot()` lists which transactions a new snapshot
 * treats as not yet committed (xmin, xmax, and the running ones between); any commit anywhere
 * changes it, and it changes at the moment the commit becomes visible, never before, so a read
 * made after a sample sees at least what the sample counted. Nothing has to remember to bump a
 * version row, and no row is updated by every upload. It is sampled at most every
 * OTHER_PROCESS_CHECK_MS, in the background; a lookup while the last sample is older than
 * SAMPLE_TRUSTED_MS gets undefined (read the database, cache nothing).
 *
 * This process's commits: every connection handed to Kysely is watched, and once one that wrote
 * (or ran DDL, or a transaction that may have) goes back to the pool, the counter moves: that is
 * after the commit, before the writer's caller goes on.
 */
export function postgresChangeCounter(pool: pg.Pool): {
  pool: PostgresPool;
  changeCounter(): number | undefined;
} {
  let generation = 0;
  let snapshot: string | undefined;
  let sampledAt = Number.NEGATIVE_INFINITY;
  let sampling = false;
  let closed = false;

  const sample = () => {
    if (sampling || closed) return;
    sampling = true;
    const startedAt = Date.now();
    pool
      .query<{ s: string }>('SELECT pg_current_snapshot()::text AS s')
      .then(({ rows }) => {
        const s = rows[0]?.s;
        if (s !== snapshot) {
          snapshot = s;
          generation++;
        }
        sampledAt = startedAt;
      })
      // Unreachable or busy: the sample stays old, and nothing is cached meanwhile.
      .catch(() => undefined)
      .finally(() => {
        sampling = false;
      });
  };

  const wrapped = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const watch = (client: pg.PoolClient): PostgresPoolClient => {
    let watcher = wrapped.get(client);
    if (watcher) return watcher;
    let wrote = false;
    watcher = {
      // biome-ignore lint/suspicious/noExplicitAny: both of pg's overloads pass through
      query: ((text: any, values?: any) => {
        if (typeof text !== 'string') return client.query(text); // a cursor: reads only
        return client.query(text, values).then((result) => {
          if (mayHaveWritten(text, result)) wrote = true;
          return result;
        });
      }) as PostgresPoolClient['query'],
      release: () => {
        client.release();
        if (wrote) {
          wrote = false;
          generation++;
        }
      },
    };
    wrapped.set(client, watcher);
    return watcher;
  };

  return {
    pool: {
      connect: async () => watch(await pool.connect()),
      end: () => {
        closed = true;
        return pool.end();
      },
    },
    changeCounter() {
      const age = Date.now() - sampledAt;
      if (age >= OTHER_PROCESS_CHECK_MS) sample();
      return age < SAMPLE_TRUSTED_MS ? generation : undefined;
    },
  };
}

function mayHaveWritten(text: string, result: pg.QueryResult): boolean {
  const command = result.command?.toUpperCase() ?? '';
  if (WRITES_ROWS.has(command)) return result.rowCount !== 0;
  if (command === 'SELECT') return WRITE_WORD.test(text);
  return !NEVER_WRITES.has(command);
}
