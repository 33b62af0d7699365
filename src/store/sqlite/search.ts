import { type Kysely, type RawBuilder, sql } from 'kysely';
import {
  caselessBeyondAscii,
  inAnyColumn,
  likePattern,
  SEARCH_COUNT_AHEAD,
  SEARCHED,
  searchWith,
  userRowsInBounds,
} from '../image-search.ts';
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
 * How many of the user's newest rows (within the time bounds) each term is first tried on with
 * LIKE, to tell how it is best found: about 0.1 ms a term.
 */
export const SEARCH_SAMPLE_ROWS = 500;

/** LIKE tests `term` as the index matches it (the index folds all of Unicode, LIKE only ASCII). */
const likeable = (term: SearchTerm) => caselessBeyondAscii(term.text) && !term.text.includes(SEARCH_SENTINEL);
/** The index answers `term` as a string of trigrams; shorter ones go by shortTermMatch. */
const longEnough = (term: SearchTerm) =>
  [...term.text].length >= TRIGRAM && !term.text.includes(SEARCH_SENTINEL);

/** LIKE of the term in any of its columns, for the table alias `col` reads from. */
const likeTest = (term: SearchTerm, col: (name: string) => RawBuilder<unknown>) =>
  inAnyColumn(term, col, (column) => sql`${column} LIKE ${likePattern(term.text)} ESCAPE '\\'`);

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

/** How often each term, and all of them together, matched in the user's newest rows. */
interface TermSample {
  /** Rows sampled: fewer than SEARCH_SAMPLE_ROWS when that is all the user has in the bounds. */
  rows: number;
  hits: number[];
  together: number;
}

async function sampleTerms(
  db: Kysely<Database>,
  userId: number,
  criteria: SearchCriteria,
  terms: SearchTerm[],
): Promise<TermSample> {
  const col = (name: string) => sql.ref(`sampled.${name}`);
  const tests = terms.map((term) => likeTest(term, col));
  const bounds = userRowsInBounds((name) => sql.ref(name), userId, criteria);
  const { rows } = await sql<Record<string, number | null>>`SELECT count(*) AS rows,
    ${sql.join(tests.map((test, i) => sql`coalesce(sum(${test}), 0) AS ${sql.ref(`hits${i}`)}`))},
    coalesce(sum(${sql.join(tests, sql` AND `)}), 0) AS together
    FROM (SELECT ${sql.join(SEARCHED.map((c) => sql.ref(c)))} FROM images WHERE ${sql.join(bounds, sql` AND `)}
      ORDER BY created_at DESC, seq DESC LIMIT ${sql.lit(SEARCH_SAMPLE_ROWS)}) AS sampled`.execute(db);
  const row = rows[0] ?? {};
  return {
    rows: Number(row.rows ?? 0),
    hits: terms.map((_, i) => Number(row[`hits${i}`] ?? 0)),
    together: Number(row.together ?? 0),
  };
}

/**
 * The share of rows at which a term is cheaper to test row by row than to list from the index.
 * Testing the user's rows newest first finds the `wanted` matches (the page and the capped count)
 * within wanted / share rows; the index lists every match of all `indexedRows`, share × indexedRows
 * of them, at about the same cost a row. The two meet at √(wanted / indexedRows): a tenth at
 * 100,000 rows and a page of 20.
 */
export const scanShare = (wanted: number, indexedRows: number) =>
  indexedRows <= 0 ? 1 : Math.min(1, Math.sqrt(wanted / indexedRows));

/**
 * The terms (of those LIKE answers as the index does) that a sample of the user's newest rows
 * says are cheaper to test row by row. `wanted`: the matches the page and its capped count need.
 */
async function scannedBySample(
  db: Kysely<Database>,
  userId: number,
  criteria: SearchCriteria,
  wanted: number,
): Promise<Set<SearchTerm>> {
  const tried = criteria.terms.filter(likeable);
  if (tried.length === 0) return new Set();
  const sample = await sampleTerms(db, userId, criteria, tried);
  // Every row the user has in the bounds was sampled: testing them all costs what the sample did.
  if (sample.rows < SEARCH_SAMPLE_ROWS) return new Set(tried);
  const { rows: last } = await sql<{ seq: number | null }>`SELECT max(seq) AS seq FROM images`.execute(db);
  const threshold = scanShare(wanted, Number(last[0]?.seq ?? 0)) * sample.rows;
  const hits = (i: number) => sample.hits[i] ?? 0;
  const common = new Set(tried.filter((_, i) => hits(i) >= threshold));
  // Terms each common but rarely together would walk every row: then the index takes the rarest.
  const rarest = tried[tried.reduce((best, _, i) => (hits(i) < hits(best) ? i : best), 0)] as SearchTerm;
  if (sample.together < threshold && longEnough(rarest)) common.delete(rarest);
  return common;
}

/**
 * Which terms go through the index (as FTS5 queries) and which are tested row by row; null when
 * a term occurs nowhere. `wanted`: the matches the page and its capped count need.
 */
export async function planTerms(
  db: Kysely<Database>,
  userId: number,
  criteria: SearchCriteria,
  wanted: number,
): Promise<{ indexed: string[]; scanned: SearchTerm[] } | null> {
  const cheaplyScanned = await scannedBySample(db, userId, criteria, wanted);
  const indexed: string[] = [];
  const scanned: SearchTerm[] = [];
  for (const term of criteria.terms) {
    if (cheaplyScanned.has(term)) {
      scanned.push(term);
    } else if (longEnough(term)) {
      indexed.push(ftsMatch([term]));
    } else {
      const match = await shortTermMatch(db, term);
      if (match === null) return null;
      if (match === undefined) scanned.push(term);
      else indexed.push(match);
    }
  }
  return { indexed, scanned };
}

/**
 * SQLite: the full-text match of the terms (the costly part) is made once, into `m`, and both the
 * page and the count use it. A term is tested with LIKE (ASCII case-insensitive, as the index for
 * such terms) on the rows the other conditions leave instead when the index cannot answer it (a
 * short term it folds differently), or when a sample of the user's newest rows says that testing
 * rows is cheaper: the user has few rows in the bounds, or the term is in a large share of them.
 */
export async function searchImagesSqlite(
  db: Kysely<Database>,
  userId: number,
  criteria: SearchCriteria,
  offset: number,
  limit: number,
): Promise<SearchPage> {
  const plan = await planTerms(db, userId, criteria, offset + limit + SEARCH_COUNT_AHEAD);
  if (plan === null) return { rows: [], total: 0, totalIsExact: true };
  const { indexed, scanned } = plan;
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
        for (const term of scanned) all.push(likeTest(term, col));
        return all;
      },
    },
    userId,
    criteria,
    offset,
    limit,
  );
}
