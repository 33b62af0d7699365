import path from 'node:path';
import { kyselyStore } from './kysely-store.ts';
import { kyselyReader } from './reusable-query.ts';
import { openSqlite } from './sqlite/database.ts';
import type { MetadataStore } from './types.ts';

export type { MetadataStore } from './types.ts';

export const SQLITE_FILE = 'gazo.sqlite';

/** Where the metadata lives: the embedded SQLite file of the data dir, or a PostgreSQL server. */
export type DatabaseLocation = { kind: 'sqlite' } | { kind: 'postgres'; url: string };

/** Opens the store the configuration names: `<dataDir>/gazo.sqlite`, or PostgreSQL at its URL. */
export async function openStore(database: DatabaseLocation, dataDir: string): Promise<MetadataStore> {
  return database.kind === 'postgres' ? openPostgresStore(database.url) : openSqliteStore(dataDir);
}

/** The embedded store: `<dataDir>/gazo.sqlite` (or another file name there, for a backup being written). */
export async function openSqliteStore(dataDir: string, file = SQLITE_FILE): Promise<MetadataStore> {
  const { db, sqlite, reader, commitDurably } = await openSqlite(path.join(dataDir, file));
  return kyselyStore(db, reader, {
    kind: 'sqlite',
    commitDurably,
    backupTo: async (file) => {
      await sqlite.backup(file);
    },
    close: async () => {
      reader.close();
      await db.destroy();
    },
  });
}

/** The shared store on PostgreSQL (`postgres://…`); pg is loaded only for it. */
export async function openPostgresStore(url: string): Promise<MetadataStore> {
  const [{ openPostgres }, { Liveness }] = await Promise.all([
    import('./postgres/database.ts'),
    import('./postgres/liveness.ts'),
  ]);
  const { db, changeCounter } = await openPostgres(url);
  const liveness = new Liveness(url);
  return kyselyStore(
    db,
    { ...kyselyReader(db), changeCounter },
    {
      kind: 'postgres',
      backupTo: async () => {
        throw new Error(
          'on PostgreSQL, back up the database with pg_dump (and the blobs with their bucket or folder)',
        );
      },
      livenessKey: () => liveness.key(),
      close: async () => {
        await liveness.close();
        await db.destroy();
      },
    },
  );
}
