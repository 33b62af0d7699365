import { type Compilable, CompiledQuery, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

/**
 * A query built and compiled once, then run again with new parameters. Building a Kysely query
 * costs several times more than SQLite takes to answer an indexed lookup, and the hot paths
 * (authenticating a token, finding an image, listing a page) run the same few queries all the
 * time. The SQL still comes from Kysely's compiler, so it stays right for each dialect.
 *
 * `build` must turn its arguments into the query's parameters one for one, in order; this is
 * checked on the first call.
 */
export function reusableQuery<A extends unknown[], R>(
  /** Read when the query first runs, so that a class field can be built before its constructor ran. */
  db: () => Kysely<Database>,
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
    const result = await db().executeQuery<R>(CompiledQuery.raw(sql, args));
    return result.rows;
  };
}
