import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database, ImageRow } from './schema.ts';
import { imageRow, type StoredImageRow } from './schema.ts';
import type { ImagePage, SearchCriteria, SearchTerm } from './types.ts';

/** The columns a term without a field is looked for in. */
export const SEARCHED = ['title', 'desc', 'app', 'url', 'alt_text', 'ocr_text'] as const;

/** `%text%` for LIKE, with LIKE's own characters (and the escape character) escaped by `\`. */
export const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The columns a term is looked for in: its field's, or every searched one. */
export const termColumns = (term: SearchTerm): readonly string[] => (term.field ? [term.field] : SEARCHED);

/**
 * How a dialect finds text: a statement prefix (a CTE, or nothing) and, for the table alias the
 * rows come from, conditions that together mean "every term matches".
 */
export interface TextMatch {
  prefix: RawBuilder<unknown>;
  conditions(col: (name: string) => RawBuilder<unknown>): RawBuilder<unknown>[];
}

/**
 * The user's images matching every term within the time bounds, newest first, and how many
 * there are, in one statement: the page walks the user's index newest first and reads only the
 * rows it answers; the count is a subquery over the same conditions.
 */
export async function searchWith(
  db: Kysely<Database>,
  match: TextMatch,
  userId: number,
  criteria: SearchCriteria,
  offset: number,
  limit: number,
): Promise<ImagePage> {
  const conditions = (table: string) => {
    const col = (name: string) => sql.ref(`${table}.${name}`);
    const all: RawBuilder<unknown>[] = [sql`${col('user_id')} = ${userId}`];
    if (criteria.since !== undefined) all.push(sql`${col('created_at')} >= ${criteria.since}`);
    if (criteria.before !== undefined) all.push(sql`${col('created_at')} < ${criteria.before}`);
    all.push(...match.conditions(col));
    return sql.join(all, sql` AND `);
  };
  const count = sql`(SELECT count(*) FROM images AS c WHERE ${conditions('c')})`;
  const { rows } = await sql<StoredImageRow & { total_matches: number }>`${match.prefix}
    SELECT images.*, ${count} AS total_matches FROM images WHERE ${conditions('images')}
    ORDER BY images.created_at DESC, images.seq DESC LIMIT ${limit} OFFSET ${offset}`.execute(db);
  const first = rows[0];
  if (!first) {
    // Past the last page, or nothing matched: the count on its own.
    const only = await sql<{ n: number }>`${match.prefix}SELECT ${count} AS n`.execute(db);
    return { rows: [], total: Number(only.rows[0]?.n ?? 0) };
  }
  const total = Number(first.total_matches);
  return { rows: rows.map(({ total_matches: _, ...row }): ImageRow => imageRow(row)), total };
}
