import { type Kysely, sql } from 'kysely';

/** The PostgreSQL side of the migrations whose DDL differs between the dialects. */

/**
 * 0001: search, a pg_trgm GIN index per searched column: `ILIKE '%term%'` of three characters
 * or more is answered from it (a bitmap OR over the columns for a term without a field).
 * pg_trgm is a trusted extension: the database's owner may create it.
 */
export async function createSearchIndex(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
  // The columns searched when 0001 was written (0008 adds alt_text's own index).
  for (const column of ['title', 'desc', 'app', 'url', 'ocr_text']) {
    await sql`CREATE INDEX ${sql.id(`images_search_${column}`)} ON images USING gin (${sql.id(column)} gin_trgm_ops)`.execute(
      db,
    );
  }
}

/**
 * 0006: `jobs.image_id` / `jobs.blob_key` read from the payload, as stored generated columns
 * (PostgreSQL has no virtual ones). A payload that is not JSON gives null, never an error for
 * every insert: hence a function that catches the cast's failure (IMMUTABLE, as a generated
 * column requires).
 */
export async function addJobSubjects(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE FUNCTION gazo_json_field(doc text, field text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
    BEGIN
      RETURN doc::jsonb ->> field;
    EXCEPTION WHEN others THEN
      RETURN NULL;
    END $$`.execute(db);
  await sql`ALTER TABLE jobs ADD COLUMN image_id text
    GENERATED ALWAYS AS (gazo_json_field(payload, 'imageId')) STORED`.execute(db);
  await sql`ALTER TABLE jobs ADD COLUMN blob_key text
    GENERATED ALWAYS AS (gazo_json_field(payload, 'blobKey')) STORED`.execute(db);
}

/** 0006: nothing to do; the GIN indexes follow every update by themselves. */
export async function reindexOnSearchedColumnsOnly(_db: Kysely<unknown>): Promise<void> {}

/** 0008: alt text is searched like the other text: its own pg_trgm index. */
export async function addAltTextSearch(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX images_search_alt_text ON images USING gin (alt_text gin_trgm_ops)`.execute(db);
}
