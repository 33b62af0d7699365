import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { Migrator } from 'kysely';
import { dialectKind } from './dialect.ts';
import * as initial from './migrations/0001-initial.ts';
import * as imageLocation from './migrations/0002-image-location.ts';
import * as importSources from './migrations/0003-import-sources.ts';
import * as dataDirIdentity from './migrations/0004-data-dir-identity.ts';
import * as decodeErrors from './migrations/0005-decode-errors.ts';
import * as jobLeases from './migrations/0006-job-leases.ts';
import * as webAccounts from './migrations/0007-web-accounts.ts';
import * as imageAltText from './migrations/0008-image-alt-text.ts';
import * as oauth from './migrations/0009-oauth.ts';
import * as easyAuth from './migrations/0010-easy-auth.ts';
import * as legacyDevices from './migrations/0011-legacy-devices.ts';
import * as blobCollections from './migrations/0012-blob-collections.ts';
import * as shortTermSearch from './migrations/0013-short-term-search.ts';
import * as imageRevision from './migrations/0014-image-revision.ts';
import * as appInListingIndex from './migrations/0015-app-in-listing-index.ts';
import { PortableDdlPlugin } from './postgres/portable-ddl.ts';
import type { Database } from './schema.ts';

export { type OpenDatabase, openSqlite } from './sqlite/database.ts';

/**
 * Migrations are code, listed here in order; the names are what the migration table records.
 * Each runs on SQLite and on PostgreSQL: see migrations/portable.ts for what that asks of one.
 */
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-image-location': imageLocation,
  '0004-data-dir-identity': dataDirIdentity,
  '0005-decode-errors': decodeErrors,
  '0003-import-sources': importSources,
  '0006-job-leases': jobLeases,
  '0007-web-accounts': webAccounts,
  '0008-image-alt-text': imageAltText,
  '0010-easy-auth': easyAuth,
  '0011-legacy-devices': legacyDevices,
  '0009-oauth': oauth,
  '0012-blob-collections': blobCollections,
  '0013-short-term-search': shortTermSearch,
  '0014-image-revision': imageRevision,
  '0015-app-in-listing-index': appInListingIndex,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/** What migrations run on: on PostgreSQL, DDL written the SQLite way is translated (portable-ddl.ts). */
export function forMigrations<DB>(db: Kysely<DB>): Kysely<DB> {
  return dialectKind(db) === 'postgres' ? db.withPlugin(new PortableDdlPlugin()) : db;
}

export async function migrate(db: Kysely<Database>): Promise<void> {
  // Migrations are made on parallel branches and each stands alone: apply any not yet run.
  const migrator = new Migrator({ db: forMigrations(db), provider, allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const why = error instanceof Error ? error.message : String(error ?? failed?.migrationName);
    throw new Error(`database migration failed: ${why}`);
  }
}
