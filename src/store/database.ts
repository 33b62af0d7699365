import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, type Migration, type MigrationProvider, Migrator, SqliteDialect } from 'kysely';
import * as initial from './migrations/0001-initial.ts';
import type { Database } from './schema.ts';

/** Migrations are code, listed here in order; the names are what the migration table records. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
};

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

export interface OpenDatabase {
  db: Kysely<Database>;
  /** The raw connection, for the few statements Kysely cannot express (pragmas, checkpoints). */
  sqlite: SQLite.Database;
}

/**
 * Opens (creating if needed) the embedded SQLite database and brings its schema up to date.
 * WAL lets CLI commands read and write while a server runs; synchronous=FULL makes a commit
 * durable before we acknowledge it; busy_timeout makes writers from several processes queue.
 */
export async function openSqlite(file: string): Promise<OpenDatabase> {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrate(db);
  return { db, sqlite };
}

export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const why = error instanceof Error ? error.message : String(error ?? failed?.migrationName);
    throw new Error(`database migration failed: ${why}`);
  }
}
