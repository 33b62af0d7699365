import path from 'node:path';
import { KyselyAnonymousDeviceRepository } from './anonymous-devices.repository.ts';
import { KyselyBlobLedger } from './blob-ledger.repository.ts';
import { deviceRepository, tokenRepository } from './credentials.repository.ts';
import { openSqlite } from './database.ts';
import { KyselyHeldImageRepository } from './held-images.repository.ts';
import { KyselyImageRepository } from './images.repository.ts';
import { KyselyImportSourceRepository } from './import-sources.repository.ts';
import { KyselyIntegrityRepository } from './integrity.repository.ts';
import { KyselyInviteRepository } from './invites.repository.ts';
import { KyselyJobRepository } from './jobs.repository.ts';
import { KyselyOAuthRepository } from './oauth.repository.ts';
import { KyselyServerSecrets, KyselySessionRepository } from './sessions.repository.ts';
import type { MetadataStore } from './types.ts';
import { KyselyUserRepository } from './users.repository.ts';

export type { MetadataStore } from './types.ts';

export const SQLITE_FILE = 'gazo.sqlite';

/** The embedded store: `<dataDir>/gazo.sqlite` (or another file name there, for a backup being written). */
export async function openSqliteStore(dataDir: string, file = SQLITE_FILE): Promise<MetadataStore> {
  const { db, sqlite, reader } = await openSqlite(path.join(dataDir, file));
  return {
    users: new KyselyUserRepository(db),
    tokens: tokenRepository(db, reader),
    devices: deviceRepository(db, reader),
    images: new KyselyImageRepository(db, reader),
    blobLedger: new KyselyBlobLedger(db),
    jobs: new KyselyJobRepository(db),
    integrity: new KyselyIntegrityRepository(db),
    importSources: new KyselyImportSourceRepository(db),
    sessions: new KyselySessionRepository(db),
    invites: new KyselyInviteRepository(db),
    secrets: new KyselyServerSecrets(db),
    heldImages: new KyselyHeldImageRepository(db),
    anonymousDevices: new KyselyAnonymousDeviceRepository(db),
    oauth: new KyselyOAuthRepository(db),
    backupTo: async (file) => {
      await sqlite.backup(file);
    },
    close: async () => {
      reader.close();
      await db.destroy();
    },
  };
}
