import { type Kysely, type RawBuilder, sql } from 'kysely';

/** The SQLite side of the migrations whose DDL differs between the dialects. */

/** 0001: search, trigram FTS5 (substrings, Japanese included, in 3+ character queries), kept by triggers. */
export async function createSearchIndex(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE VIRTUAL TABLE images_fts USING fts5(
    title, "desc", app, url, ocr_text,
    content='images', content_rowid='seq', tokenize='trigram case_sensitive 0'
  )`.execute(db);
  await sql`CREATE TRIGGER images_fts_insert AFTER INSERT ON images BEGIN
    INSERT INTO images_fts(rowid, title, "desc", app, url, ocr_text)
    VALUES (new.seq, new.title, new."desc", new.app, new.url, new.ocr_text);
  END`.execute(db);
  await sql`CREATE TRIGGER images_fts_delete AFTER DELETE ON images BEGIN
    INSERT INTO images_fts(images_fts, rowid, title, "desc", app, url, ocr_text)
    VALUES ('delete', old.seq, old.title, old."desc", old.app, old.url, old.ocr_text);
  END`.execute(db);
  await sql`CREATE TRIGGER images_fts_update AFTER UPDATE ON images BEGIN
    INSERT INTO images_fts(images_fts, rowid, title, "desc", app, url, ocr_text)
    VALUES ('delete', old.seq, old.title, old."desc", old.app, old.url, old.ocr_text);
    INSERT INTO images_fts(rowid, title, "desc", app, url, ocr_text)
    VALUES (new.seq, new.title, new."desc", new.app, new.url, new.ocr_text);
  END`.execute(db);
}

/**
 * 0006: `jobs.image_id` / `jobs.blob_key` read from the payload; a payload that is not JSON
 * gives null.
 */
export async function addJobSubjects(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE jobs ADD COLUMN image_id TEXT
    GENERATED ALWAYS AS (CASE WHEN json_valid(payload) THEN json_extract(payload, '$.imageId') END) VIRTUAL`.execute(
    db,
  );
  await sql`ALTER TABLE jobs ADD COLUMN blob_key TEXT
    GENERATED ALWAYS AS (CASE WHEN json_valid(payload) THEN json_extract(payload, '$.blobKey') END) VIRTUAL`.execute(
    db,
  );
}

/** 0006: the search index is re-written only when a searched column changes (not on every update). */
export async function reindexOnSearchedColumnsOnly(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TRIGGER images_fts_update`.execute(db);
  await sql`CREATE TRIGGER images_fts_update AFTER UPDATE OF title, "desc", app, url, ocr_text ON images
  BEGIN
    INSERT INTO images_fts(images_fts, rowid, title, "desc", app, url, ocr_text)
    VALUES ('delete', old.seq, old.title, old."desc", old.app, old.url, old.ocr_text);
    INSERT INTO images_fts(rowid, title, "desc", app, url, ocr_text)
    VALUES (new.seq, new.title, new."desc", new.app, new.url, new.ocr_text);
  END`.execute(db);
}

/** The columns of `images_fts`, in order; the triggers below write exactly these. */
const FTS_COLUMNS = sql.raw('title, "desc", app, url, ocr_text, alt_text');
const OLD = sql.raw('old.title, old."desc", old.app, old.url, old.ocr_text, old.alt_text');
const NEW = sql.raw('new.title, new."desc", new.app, new.url, new.ocr_text, new.alt_text');

/** 0008: `images_fts` made again with alt_text (an FTS5 table cannot gain a column), rebuilt, and its triggers with it. */
export async function addAltTextSearch(db: Kysely<unknown>): Promise<void> {
  await remakeSearchIndex(db, 'images', NEW, OLD);
}

/**
 * Drops `images_fts` and its triggers, makes it again over `content` (a table or view with the
 * searched columns), rebuilds it, and makes the triggers that index `newValues` and un-index
 * `oldValues` (the same text `content` gives, so 'rebuild' and the triggers agree).
 */
async function remakeSearchIndex(
  db: Kysely<unknown>,
  content: string,
  newValues: RawBuilder<unknown>,
  oldValues: RawBuilder<unknown>,
): Promise<void> {
  for (const trigger of ['images_fts_insert', 'images_fts_delete', 'images_fts_update']) {
    await sql`DROP TRIGGER IF EXISTS ${sql.id(trigger)}`.execute(db);
  }
  await sql`DROP TABLE images_fts`.execute(db);
  await sql`CREATE VIRTUAL TABLE images_fts USING fts5(
    ${FTS_COLUMNS},
    content=${sql.lit(content)}, content_rowid='seq', tokenize='trigram case_sensitive 0'
  )`.execute(db);
  await sql`INSERT INTO images_fts(images_fts) VALUES ('rebuild')`.execute(db);

  await sql`CREATE TRIGGER images_fts_insert AFTER INSERT ON images BEGIN
    INSERT INTO images_fts(rowid, ${FTS_COLUMNS}) VALUES (new.seq, ${newValues});
  END`.execute(db);
  await sql`CREATE TRIGGER images_fts_delete AFTER DELETE ON images BEGIN
    INSERT INTO images_fts(images_fts, rowid, ${FTS_COLUMNS}) VALUES ('delete', old.seq, ${oldValues});
  END`.execute(db);
  await sql`CREATE TRIGGER images_fts_update
  AFTER UPDATE OF title, "desc", app, url, ocr_text, alt_text ON images BEGIN
    INSERT INTO images_fts(images_fts, rowid, ${FTS_COLUMNS}) VALUES ('delete', old.seq, ${oldValues});
    INSERT INTO images_fts(rowid, ${FTS_COLUMNS}) VALUES (new.seq, ${newValues});
  END`.execute(db);
}

/**
 * Appended to every indexed value (never stored in `images`): with two of them after the text,
 * every place a one- or two-character string occurs starts a trigram, so such a string is found
 * through the index as "any trigram it begins" (`images_fts_terms`), not by reading every row.
 */
export const SEARCH_SENTINEL = '\u0001';
const SEARCHED_COLUMNS = ['title', '"desc"', 'app', 'url', 'ocr_text', 'alt_text'];
const padded = (value: string) => `coalesce(${value}, '') || char(1, 1)`;
const paddedColumns = (prefix: string, alias = false) =>
  sql.raw(SEARCHED_COLUMNS.map((c) => `${padded(prefix + c)}${alias ? ` AS ${c}` : ''}`).join(', '));
const PADDED_NEW = paddedColumns('new.');
const PADDED_OLD = paddedColumns('old.');

/**
 * 0013: short terms through the index. `images_fts` reads its content from a view that pads each
 * searched column with two sentinels (so 'rebuild' and the triggers index the same text), and
 * `images_fts_terms` lists the index's trigrams, which can be read by range: the trigrams that
 * begin with "東京" are the places "東京" occurs.
 */
export async function indexShortTerms(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE VIEW images_search_text AS SELECT seq, ${paddedColumns('', true)} FROM images`.execute(db);
  await remakeSearchIndex(db, 'images_search_text', PADDED_NEW, PADDED_OLD);
  await sql`CREATE VIRTUAL TABLE images_fts_terms USING fts5vocab(images_fts, 'row')`.execute(db);
}
