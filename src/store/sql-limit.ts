import { sql } from 'kysely';

/**
 * A LIMIT's value, as a parameter SQLite does not look into. Given a bare `LIMIT ?`, SQLite
 * 3.4x reads the bound value to plan the query and marks the statement to be compiled again
 * whenever that parameter is bound, which better-sqlite3 does on every run: each run re-parsed
 * its query (a tenth of the CPU of a list page not in the page cache; the due-jobs query took
 * 14 µs against 4). A cast is no bare parameter, and PostgreSQL takes it alike. Every LIMIT in
 * store/ whose value varies goes through here; a constant one is a literal, `sql.lit(1)` (Kysely
 * makes a parameter of a bare `.limit(1)` too).
 */
export const limitOf = (n: number) => sql<number>`cast(${n} as integer)`;
