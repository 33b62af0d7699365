import type { Kysely } from 'kysely';
import * as sqliteDdl from '../sqlite/ddl.ts';
import { byDialect } from './portable.ts';

/**
 * One- and two-character search terms through the index on SQLite (see `indexShortTerms`):
 * before, they were tested row by row, the slowest searches there were. PostgreSQL's pg_trgm
 * indexes are unchanged.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await byDialect(db, { sqlite: sqliteDdl.indexShortTerms, postgres: async () => {} });
}
