import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database, ImageRow } from './schema.ts';
import { imageRow, type StoredImageRow } from './schema.ts';
import { limitOf } from './sql-limit.ts';
import type { SearchCriteria, SearchPage, SearchTerm } from './types.ts';

/** The columns a term without a field is looked for in. */
export const SEARCHED = ['title', 'desc', 'app', 'url', 'alt_text', 'ocr_text'] as const;

/** `%text%` for LIKE, with LIKE's own characters (and the escape character) escaped by `\`. */
export const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * A term whose letters outside ASCII have no case (Japanese, digits, punctuation) matches the
 * same under ILIKE as under SQLite's ASCII-only LIKE, and ILIKE costs a fifth of the
 * translate() that imitates SQLite for the others (`é` must not find `É`, as on SQLite); and
 * SQLite's index, which folds all of Unicode, answers such a term as LIKE would.
 * (Only a text with one of the rare characters that lower-case into ASCII, such as the Kelvin
 * sign, could tell the two apart.)
 */
export const caselessBeyondAscii = (text: string) =>
  [...text].every((ch) => ch.charCodeAt(0) < 128 || ch.toLowerCase() === ch.toUpperCase());

/** The columns a term is looked for in: its field's, or every searched one. */
export const termColumns = (term: SearchTerm): readonly string[] => (term.field ? [term.field] : SEARCHED);

/** `test` of any of the term's columns, for the table alias `col` reads from. */
export const inAnyColumn = (
  term: SearchTerm,
  col: (name: string) => RawBuilder<unknown>,
  test: (column: RawBuilder<unknown>) => RawBuilder<unknown>,
) =>
  sql`(${sql.join(
    termColumns(term).map((name) => test(col(name))),
    sql` OR `,
  )})`;

/**
 * How a dialect finds text: a statement prefix (a CTE, or nothing) and, for the table alias the
 * rows come from, conditions that together mean "every term matches".
 */
export interface TextMatch {
  prefix: RawBuilder<unknown>;
  conditions(col: (name: string) => RawBuilder<unknown>): RawBuilder<unknown>[];
}

/** The user's rows within the criteria's time bounds, for the table alias `col` reads from. */
export function userRowsInBounds(
  col: (name: string) => RawBuilder<unknown>,
  userId: number,
  criteria: SearchCriteria,
): RawBuilder<unknown>[] {
  const all: RawBuilder<unknown>[] = [sql`${col('user_id')} = ${userId}`];
  if (criteria.since !== undefined) all.push(sql`${col('created_at')} >= ${criteria.since}`);
  if (criteria.before !== undefined) all.push(sql`${col('created_at')} < ${criteria.before}`);
  return all;
}

/**
 * How many matches past the end of the page are counted before the count stops: an exact total
 * of a search for a word in most of 100,000 screenshots costs more than the page itself, and
 * nobody reads past "more than 1,000". Always past the page, so a client paging on the total
 * never stops early.
 */
export const SEARCH_COUNT_AHEAD = 1000;

/**
 * The user's images matching every term within the time bounds, newest first, and how many
 * there are (counted up to SEARCH_COUNT_AHEAD past the page), in one statement: the page walks
 * the user's index newest first and reads only the rows it answers; the count is a subquery
 * over the same conditions.
 */
export async function searchWith(
  db: Kysely<Database>,
  match: TextMatch,
  userId: number,
  criteria: SearchCriteria,
  offset: number,
  limit: number,
): Promise<SearchPage> {
  const conditions = (table: string) => {
    const col = (name: string) => sql.ref(`${table}.${name}`);
    return sql.join([...userRowsInBounds(col, userId, criteria), ...match.conditions(col)], sql` AND `);
  };
  const bound = offset + limit + SEARCH_COUNT_AHEAD;
  const count = sql`(SELECT count(*) FROM (SELECT 1 FROM images AS c WHERE ${conditions('c')} LIMIT ${limitOf(bound + 1)}) AS counted)`;
  const counted = (n: unknown): Pick<SearchPage, 'total' | 'totalIsExact'> => {
    const total = Number(n ?? 0);
    return total > bound ? { total: bound, totalIsExact: false } : { total, totalIsExact: true };
  };
  const { rows } = await sql<StoredImageRow & { total_matches: number }>`${match.prefix}
    SELECT images.*, ${count} AS total_matches FROM images WHERE ${conditions('images')}
    ORDER BY images.created_at DESC, images.seq DESC LIMIT ${limitOf(limit)} OFFSET ${offset}`.execute(db);
  const first = rows[0];
  if (!first) {
    // Past the last page, or nothing matched: the count on its own.
    const only = await sql<{ n: number }>`${match.prefix}SELECT ${count} AS n`.execute(db);
    return { rows: [], ...counted(only.rows[0]?.n) };
  }
  return {
    rows: rows.map(({ total_matches: _, ...row }): ImageRow => imageRow(row)),
    ...counted(first.total_matches),
  };
}
