import fs from 'node:fs/promises';
import path from 'node:path';
import { type OpenDatabase, openSqlite } from '../../src/store/database.ts';
import { SQLITE_FILE } from '../../src/store/index.ts';
import type { ReadRunner } from '../../src/store/reusable-query.ts';
import { KyselyUserRepository } from '../../src/store/users.repository.ts';
import { makeDataDir } from './server.ts';

export interface CountedStore {
  dir: string;
  file: string;
  opened: OpenDatabase;
  /** The store's reader, counting the queries that reach SQLite. */
  reader: ReadRunner;
  queries: number;
  userId: number;
  close(): Promise<void>;
}

/**
 * A real SQLite store in a fresh data dir with one user, and a reader that counts its queries:
 * for tests of what is answered from memory and what reaches the database.
 */
export async function openCountedStore(): Promise<CountedStore> {
  const dir = await makeDataDir();
  const file = path.join(dir, SQLITE_FILE);
  const opened = await openSqlite(file);
  const users = new KyselyUserRepository(opened.db);
  const user = await users.create({ uid: 'u', name: 'u', email: null, passwordHash: null });
  const store: CountedStore = {
    dir,
    file,
    opened,
    queries: 0,
    userId: user.id,
    reader: {
      all(sql, parameters) {
        store.queries++;
        return opened.reader.all(sql, parameters);
      },
      arrays: (sql, parameters) => opened.reader.arrays(sql, parameters),
      changeCounter: () => opened.reader.changeCounter?.(),
    },
    async close() {
      opened.reader.close();
      await opened.db.destroy();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
  return store;
}
