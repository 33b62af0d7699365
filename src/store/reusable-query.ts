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
  const sqlFor = compileOnce(build);
  return async (...args: A) => reader().all<R>(sqlFor(args), args);
}

/**
 * The same for a query that selects exactly `columns`, in that order: SQLite hands the rows over
 * as arrays and they become objects here. better-sqlite3 builds row objects property by property
 * in C++, which for a page of 20 wide rows costs more than finding them; a plain JS object built
 * from the array costs a fraction of that.
 */
export function reusableColumnsQuery<A extends unknown[], K extends string, R extends Record<K, unknown>>(
  reader: () => ReadRunner,
  columns: readonly K[],
  build: (...args: A) => Compilable<R>,
): (...args: A) => Promise<R[]> {
  const sqlFor = compileOnce(build);
  return async (...args: A) => {
    const rows = await reader().arrays(sqlFor(args), args);
    const out = new Array<R>(rows.length);
    for (let r = 0; r < rows.length; r++) {
      const values = rows[r] as unknown[];
      const row: Record<string, unknown> = {};
      for (let c = 0; c < columns.length; c++) row[columns[c] as K] = values[c];
      out[r] = row as R;
    }
    return out;
  };
}

function compileOnce<A extends unknown[]>(build: (...args: A) => Compilable<unknown>): (args: A) => string {
  let sql: string | undefined;
  return (args) => {
    if (sql === undefined) {
      const compiled = build(...args).compile();
      const { parameters } = compiled;
      if (parameters.length !== args.length || parameters.some((p, i) => p !== args[i])) {
        throw new Error(`reusableQuery: parameters must be the arguments in order: ${compiled.sql}`);
      }
      sql = compiled.sql;
    }
    return sql;
  };
}

/** Runs compiled SQL that only reads, answering the rows. */
export interface ReadRunner {
  all<R>(sql: string, parameters: readonly unknown[]): Promise<R[]>;
  /** The rows as arrays of column values, in the order the query selects them. */
  arrays(sql: string, parameters: readonly unknown[]): Promise<unknown[][]>;
  /**
   * A number that changes whenever anything (this process's writer, or another process) may
   * have committed since it was last read, or undefined while that cannot be told: what lets
   * answers be cached in process. Absent where the store cannot say cheaply; nothing is cached then.
   */
  changeCounter?(): number | undefined;
}

/** Reads through Kysely's own connection handling: right for any dialect. */
export const kyselyReader = (db: Kysely<Database>): ReadRunner => ({
  async all<R>(sql: string, parameters: readonly unknown[]) {
    return (await db.executeQuery<R>(CompiledQuery.raw(sql, [...parameters]))).rows;
  },
  async arrays(sql: string, parameters: readonly unknown[]) {
    const { rows } = await db.executeQuery<object>(CompiledQuery.raw(sql, [...parameters]));
    // Row objects keep their columns in the order selected.
    return rows.map((row) => Object.values(row));
  },
});
