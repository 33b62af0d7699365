import { type Kysely, type RawBuilder, sql } from 'kysely';
import { caselessBeyondAscii, inAnyColumn, likePattern, searchWith } from '../image-search.ts';
import type { Database } from '../schema.ts';
import { limitOf } from '../sql-limit.ts';
import type { SearchCriteria, SearchPage, SearchTerm } from '../types.ts';
import { SEARCH_SENTINEL } from './ddl.ts';

/** FTS5 trigram matches need three characters; shorter terms go through the trigrams they begin. */
const TRIGRAM = 3;
/**
 * Past this many distinct trigrams beginning with a short term, or this many rows holding them
 * (a common letter or pair), OR-ing their lists costs more than testing the user's rows newest
 * first with LIKE, which then find a page (and the capped count) within a few thousand rows.
 */
const MAX_TRIGRAMS_PER_TERM = 200;
const MAX_INDEXED_ROWS = 5000;
/**
 * A term in at least this share of all rows ("the", a word on every screenshot) is cheaper to
 * test on the user's rows newest first, where a page and the capped count are found within a few
 * thousand rows, than to list every match from the index first.
 */
const DENSE_SHARE = 0.2;

/** LIKE tests `term` as the index matches it (the index folds all of Unicode, LIKE only ASCII). */
const likeable = (term: SearchTerm) => caselessBeyondAscii(term.text) && !term.text.includes(SEARCH_SENTINEL);

const quoted = (text: string) => `"${text.replaceAll('"', '""')}"`;
const inColumns = (term: SearchTerm, query: string) => (term.field ? `{${term.field}} : ${query}` : query);

/**
 * An FTS5 query that means exactly the terms: each is a quoted string (so `*`, `-`, `^`, `:`,
 * `NEAR`, `OR` and parentheses in it are text), restricted to its field's column when it has
 * one, and all of them must match. With the trigram tokenizer a string matches as a substring.
 */
export function ftsMatch(terms: SearchTerm[]): string {
  return terms.map((t) => inColumns(t, quoted(t.text))).join(' AND ');
}

/**
 * A one- or two-character term as an FTS5 query: any of the indexed trigrams that begin with it
 * (every occurrence begins one, see `indexShortTerms`). `null` when nothing begins with it (it
 * occurs nowhere); undefined when the index cannot answer it as LIKE would (a letter with case
 * beyond ASCII, which the index folds and LIKE does not) or it is too common to be worth it.
 */
async function shortTermMatch(db: Kysely<Database>, term: SearchTerm): Promise<string | null | undefined> {
  if (!likeable(term)) return undefined;
  const from = term.text.toLowerCase(); // as the index holds it: the tokenizer folds case
  const { rows } = await sql<{ term: string; doc: number }>`SELECT term, doc FROM images_fts_terms
    WHERE term >= ${from} AND term < ${`${from}\u{10ffff}`} LIMIT ${limitOf(MAX_TRIGRAMS_PER_TERM + 1)}`.execute(
    db,
  );
  if (rows.length > MAX_TRIGRAMS_PER_TERM) return undefined;
  if (rows.reduce((sum, r) => sum + Number(r.doc), 0) > MAX_INDEXED_ROWS) return undefined;
  if (rows.length === 0) return null;
  return inColumns(term, `(${rows.map((r) => quoted(r.term)).join(' OR ')})`);
}

/** Whether `term` (3+ characters) is in DENSE_SHARE of the rows or more: see DENSE_SHARE. */
async function isDense(db: Kysely<Database>, term: SearchTerm): Promise<boolean> {
  if (!likeable(term)) return false;
  const { rows: last } = await sql<{ seq: number | null }>`SELECT max(seq) AS seq FROM images`.execute(db);
  const enough = Math.ceil(Number(last[0]?.seq ?? 0) * DENSE_SHARE);
  // The rows holding its first trigram bound its matches from above, cheaply...
  const first = [...term.text.toLowerCase()].slice(0, TRIGRAM).join('');
  const { rows: vocab } = await sql<{
    doc: number;
  }>`SELECT doc FROM images_fts_terms WHERE term = ${first}`.execute(db);
  if (Number(vocab[0]?.doc ?? 0) < enough) return false;
  // ...and counting matches no further than `enough` settles it.
  const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM
    (SELECT 1 FROM images_fts WHERE images_fts MATCH ${ftsMatch([term])} LIMIT ${limitOf(enough)}) AS probe`.execute(
    db,
  );
  return Number(rows[0]?.n ?? 0) >= enough;
}

/**
 * SQLite: the full-text match of the terms (the costly part) is made once, into `m`, and both the
 * page and the count use it; short terms the index cannot answer, and terms in most rows, are
 * tested with LIKE (ASCII case-insensitive, as the index for such terms) on the rows the other
 * conditions leave.
 */
export async function searchImagesSqlite(
  db: Kysely<Database>,
  userId: number,
  criteria: SearchCriteria,
  offset: number,
  limit: number,
): Promise<SearchPage> {
  const indexed: string[] = [];
  const scanned: SearchTerm[] = [];
  for (const term of criteria.terms) {
    if ([...term.text].length >= TRIGRAM && !term.text.includes(SEARCH_SENTINEL)) {
      if (await isDense(db, term)) scanned.push(term);
      else indexed.push(ftsMatch([term]));
      continue;
    }
    const match = await shortTermMatch(db, term);
    if (match === null) return { rows: [], total: 0, totalIsExact: true };
    if (match === undefined) scanned.push(term);
    else indexed.push(match);
  }
  const prefix =
    indexed.length > 0
      ? sql`WITH m(seq) AS MATERIALIZED (SELECT rowid FROM images_fts WHERE images_fts MATCH ${indexed.join(' AND ')}) `
      : sql``;
  return searchWith(
    db,
    {
      prefix,
      conditions: (col) => {
        const all: RawBuilder<unknown>[] = indexed.length > 0 ? [sql`${col('seq')} IN m`] : [];
        for (const term of scanned) {
          const like = likePattern(term.text);
          all.push(inAnyColumn(term, col, (column) => sql`${column} LIKE ${like} ESCAPE '\\'`));
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
