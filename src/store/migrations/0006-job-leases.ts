import { type Kysely, sql } from 'kysely';
import * as postgresDdl from '../postgres/ddl.ts';
import * as sqliteDdl from '../sqlite/ddl.ts';
import { byDialect } from './portable.ts';

/**
 * The queue as a registry of kinds, each with its own workers:
 * - `lease_owner`: the random token of the claim that holds the lease. Only that holder may
 *   complete or fail the job, so a holder whose lease expired (and was taken over) changes nothing.
 * - `image_id` / `blob_key`: what the job is about, read from its payload, so that deleting an
 *   image cancels its jobs with an index lookup rather than a scan of every payload. A payload
 *   that is not JSON gives null here (and fails as a job), never an error for every read.
 * - `jobs_claim`: each kind claims its own due jobs; a backlog of one kind (OCR of every image)
 *   must not make another kind's claim walk past it.
 * - The search index is re-written only when a searched column changes, not on every update
 *   (a decode error, a policy change).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('lease_owner', 'text').execute();
  await byDialect(db, { sqlite: sqliteDdl.addJobSubjects, postgres: postgresDdl.addJobSubjects });
  await sql`CREATE INDEX jobs_image ON jobs (image_id) WHERE image_id IS NOT NULL`.execute(db);
  await sql`CREATE INDEX jobs_blob ON jobs (blob_key) WHERE blob_key IS NOT NULL`.execute(db);
  await sql`CREATE INDEX jobs_claim ON jobs (kind, run_at) WHERE failed_at IS NULL`.execute(db);

  await byDialect(db, {
    sqlite: sqliteDdl.reindexOnSearchedColumnsOnly,
    postgres: postgresDdl.reindexOnSearchedColumnsOnly,
  });
}
