import { type Kysely, sql } from 'kysely';

/** The columns of `images_fts`, in order; the triggers below write exactly these. */
const FTS_COLUMNS = sql.raw('title, "desc", app, url, ocr_text, alt_text');
const OLD = sql.raw('old.title, old."desc", old.app, old.url, old.ocr_text, old.alt_text');
const NEW = sql.raw('new.title, new."desc", new.app, new.url, new.ocr_text, new.alt_text');

/**
 * `images.alt_text`: the owner's description of the picture for people who cannot see it ("" when
 * none), edited over the API and the image page, and searched like the other text. An FTS5 table
 * cannot gain a column, so `images_fts` is made again with it and rebuilt from `images` (the
 * content table), and its triggers are made again to write it. The update trigger still fires
 * only when a searched column changes.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('images')
    .addColumn('alt_text', 'text', (c) => c.notNull().defaultTo(''))
    .execute();

  for (const trigger of ['images_fts_insert', 'images_fts_delete', 'images_fts_update']) {
    await sql`DROP TRIGGER IF EXISTS ${sql.id(trigger)}`.execute(db);
  }
  await sql`DROP TABLE images_fts`.execute(db);
  await sql`CREATE VIRTUAL TABLE images_fts USING fts5(
    ${FTS_COLUMNS},
    content='images', content_rowid='seq', tokenize='trigram case_sensitive 0'
  )`.execute(db);
  await sql`INSERT INTO images_fts(images_fts) VALUES ('rebuild')`.execute(db);

  await sql`CREATE TRIGGER images_fts_insert AFTER INSERT ON images BEGIN
    INSERT INTO images_fts(rowid, ${FTS_COLUMNS}) VALUES (new.seq, ${NEW});
  END`.execute(db);
  await sql`CREATE TRIGGER images_fts_delete AFTER DELETE ON images BEGIN
    INSERT INTO images_fts(images_fts, rowid, ${FTS_COLUMNS}) VALUES ('delete', old.seq, ${OLD});
  END`.execute(db);
  await sql`CREATE TRIGGER images_fts_update
  AFTER UPDATE OF title, "desc", app, url, ocr_text, alt_text ON images BEGIN
    INSERT INTO images_fts(images_fts, rowid, ${FTS_COLUMNS}) VALUES ('delete', old.seq, ${OLD});
    INSERT INTO images_fts(rowid, ${FTS_COLUMNS}) VALUES (new.seq, ${NEW});
  END`.execute(db);
}
