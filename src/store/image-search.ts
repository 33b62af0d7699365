import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { Database, ImageRow } from './schema.ts';
import type { ImagePage, SearchCriteria, SearchTerm } from './types.ts';

/** FTS5 trigram matches need three characters; shorter terms are looked for row by row. */
const TRIGRAM = 3;

/** The columns a term without a field is looked for in (all of them are in `images_fts`). */
const SEARCHED = ['title', 'desc', 'app', 'url', 'alt_text', 'ocr_text'] as const;

/**
 * An FTS5 query that means exactly the terms: each is a quoted string (so `*`, `-`, `^`, `:`,
 * `NEAR`, `OR` and parentheses in it are text), restricted to its field's column when it has
 * one, and all of them must match. With the trigram tokenizer a string matches as a substring.
 */
export function ftsMatch(terms: SearchTerm[]): string {
  return terms
    .map((t) => {
      const text = `"${t.text.replaceAll('"', '""')}"`;
      return t.field ? `{${t.field}} : ${text}` : text;
    })
    .join(' AND ');
}

/**
 * The user's images matching every term within the time bounds, newest first, and how many
 * there are. One statement: the full-text match (the costly part) is made once, into `m`, and
 * both the page and the count use it. The page walks the user's index newest first and reads
 * only the rows it answers; the count reads only the index.
 */
export async function searchImages(
  db: Kysely<Database>,
  userId: number,
  criteria: SearchCriteria,
  offset: number,
  limit: number,
): Promise<ImagePage> {
  const long = criteria.terms.filter((t) => [...t.text].length >= TRIGRAM);
  const short = criteria.terms.filter((t) => [...t.text].length < TRIGRAM);
  const matched = long.length > 0;

  const conditions = (table: string) => {
    const col = (name: string) => sql.ref(`${table}.${name}`);
    const all: RawBuilder<unknown>[] = [sql`${col('user_id')} = ${userId}`];
    if (criteria.since !== undefined) all.push(sql`${col('created_at')} >= ${criteria.since}`);
    if (criteria.before !== undefined) all.push(sql`${col('created_at')} < ${criteria.before}`);
    if (matched) all.push(sql`${col('seq')} IN m`);
    for (const term of short) {
      // Trigrams cannot find one or two characters: these are tested on the rows that the
      // other conditions leave.
      const like = `%${term.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const tests = (term.field ? [term.field] : SEARCHED).map(
        (name) => sql`${col(name)} LIKE ${like} ESCAPE '\\'`,
      );
      all.push(sql`(${sql.join(tests, sql` OR `)})`);
    }
    return sql.join(all, sql` AND `);
  };
  const cte = matched
    ? sql`WITH m(seq) AS MATERIALIZED (SELECT rowid FROM images_fts WHERE images_fts MATCH ${ftsMatch(long)}) `
    : sql``;
  const count = sql`(SELECT count(*) FROM images AS c WHERE ${conditions('c')})`;

  const { rows } = await sql<ImageRow & { total_matches: number }>`${cte}
    SELECT images.*, ${count} AS total_matches FROM images WHERE ${conditions('images')}
    ORDER BY images.created_at DESC, images.seq DESC LIMIT ${limit} OFFSET ${offset}`.execute(db);
  const first = rows[0];
  if (!first) {
    // Past the last page, or nothing matched: the count on its own.
    const only = await sql<{ n: number }>`${cte}SELECT ${count} AS n`.execute(db);
    return { rows: [], total: Number(only.rows[0]?.n ?? 0) };
  }
  const total = Number(first.total_matches);
  return { rows: rows.map(({ total_matches: _, ...row }) => row), total };
}
