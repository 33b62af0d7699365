import { type Kysely, type RawBuilder, sql } from 'kysely';
import { likePattern, searchWith, termColumns } from '../image-search.ts';
import type { Database } from '../schema.ts';
import type { ImagePage, SearchCriteria, SearchTerm } from '../types.ts';

/** FTS5 trigram matches need three characters; shorter terms are looked for row by row. */
const TRIGRAM = 3;

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
 * SQLite: the full-text match of the long terms (the costly part) is made once, into `m`, and
 * both the page and the count use it; one- and two-character terms (which trigrams cannot find)
 * are tested with LIKE (ASCII case-insensitive) on the rows the other conditions leave.
 */
export function searchImagesSqlite(
  db: Kysely<Database>,
  userId: number,
  criteria: SearchCriteria,
  offset: number,
  limit: number,
): Promise<ImagePage> {
  const long = criteria.terms.filter((t) => [...t.text].length >= TRIGRAM);
  const short = criteria.terms.filter((t) => [...t.text].length < TRIGRAM);
  const prefix =
    long.length > 0
      ? sql`WITH m(seq) AS MATERIALIZED (SELECT rowid FROM images_fts WHERE images_fts MATCH ${ftsMatch(long)}) `
      : sql``;
  return searchWith(
    db,
    {
      prefix,
      conditions: (col) => {
        const all: RawBuilder<unknown>[] = long.length > 0 ? [sql`${col('seq')} IN m`] : [];
        for (const term of short) {
          const like = likePattern(term.text);
          const tests = termColumns(term).map((name) => sql`${col(name)} LIKE ${like} ESCAPE '\\'`);
          all.push(sql`(${sql.join(tests, sql` OR `)})`);
        }
        return all;
      },
    },
    userId,
    criteria,
    offset,
    limit,
  );
}
