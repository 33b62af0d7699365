import type { Kysely } from 'kysely';
import * as postgresDdl from '../postgres/ddl.ts';
import * as sqliteDdl from '../sqlite/ddl.ts';
import { byDialect } from './portable.ts';

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

  await byDialect(db, { sqlite: sqliteDdl.addAltTextSearch, postgres: postgresDdl.addAltTextSearch });
}
