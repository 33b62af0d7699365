import { type Kysely, sql } from 'kysely';
import { caselessBeyondAscii, inAnyColumn, likePattern, searchWith } from '../image-search.ts';
import type { Database } from '../schema.ts';
import type { SearchCriteria, SearchPage } from '../types.ts';

/** pg_trgm's GIN indexes can narrow a LIKE down only for three characters or more. */
const TRIGRAM = 3;
const UPPER_ASCII = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const LOWER_ASCII = 'abcdefghijklmnopqrstuvwxyz';

/**
 * PostgreSQL: every term is an ILIKE on its columns, which the `gin_trgm_ops` index of each
 * searched column (migration 0001) answers for three characters or more, Japanese included in a
 * UTF-8 locale. The results are SQLite's: a long term matches case-insensitively (as FTS5's
 * trigram tokenizer folds case), and a one- or two-character term folds ASCII letters only, as
 * SQLite's LIKE does (no index helps those on either side: both test the user's rows one by one).
 */
export function searchImagesPostgres(
  db: Kysely<Database>,
  userId: number,
  criteria: SearchCriteria,
  offset: number,
  limit: number,
): Promise<SearchPage> {
  return searchWith(
    db,
    {
      prefix: sql``,
      conditions: (col) =>
        criteria.terms.map((term) => {
          const like = likePattern(term.text);
          const foldAsciiOnly = [...term.text].length < TRIGRAM && !caselessBeyondAscii(term.text);
          return inAnyColumn(term, col, (column) =>
            foldAsciiOnly
              ? sql`translate(${column}, ${UPPER_ASCII}, ${LOWER_ASCII}) LIKE translate(${like}, ${UPPER_ASCII}, ${LOWER_ASCII}) ESCAPE '\\'`
              : sql`${column} ILIKE ${like} ESCAPE '\\'`,
          );
        }),
    },
    userId,
    criteria,
    offset,
    limit,
  );
}
