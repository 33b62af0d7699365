import { type Compilable, CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

/**
 * A query built and compiled once, then run again with new parameters. Building a Kysely query
 * costs several times more than SQLite takes to answer an indexed lookup, and the hot paths
 * (authenticating a token, finding an image, listing a page) run the same few queries all the
 * time. The SQL still comes from Kysely's compiler, so it stays right for each dialect.
 *
 * On SQLite the hot reads go to a read-only connection of their own (see database.ts), which
 * sees exactly what has been committed and need not queue behind a write transaction.
 *
 * `build` must turn its arguments into the query's parameters one for one, in order; this is
 * checked on the first call.
 */
export function reusableQuery<A extends unknown[], R>(
  /** Read when the query first runs, so that a class field can be built before its constructor ran. */
  reader: () => ReadRunner,
  build: (...args: A) => Compilable<R>,
): (...args: A) => Promise<R[]> {
  let sql: string | undefined;
  return async (...args: A) => {
    if (sql === undefined) {
      const compiled = build(...args).compile();
      const { parameters } = compiled;
      if (parameters.length !== args.length || parameters.some((p, i) => p !== args[i])) {
        throw new Error(`reusableQuery: parameters must be the arguments in order: ${compiled.sql}`);
      }
      sql = compiled.sql;
    }
    return reader().all<R>(sql, args);
  };
}

/** Runs compiled SQL that only reads, answering the rows. */
export interface ReadRunner {
  all<R>(sql: string, parameters: readonly unknown[]): Promise<R[]>;
  /**
   * A number that changes whenever another connection (this process's writer, or another
   * process) has committed since it was last read: what lets answers be cached in process.
   * Absent where the store cannot say cheaply; nothing is cached then.
   */
  changeCounter?(): number;
}

/** Reads through Kysely's own connection handling: right for any dialect. */
export const kyselyReader = (db: Kysely<Database>): ReadRunner => ({
  async all<R>(sql: string, parameters: readonly unknown[]) {
    return (await db.executeQuery<R>(CompiledQuery.raw(sql, [...parameters]))).rows;
  },
});
