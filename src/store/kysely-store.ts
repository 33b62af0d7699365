import type { Kysely } from 'kysely';
import { KyselyAnonymousDeviceRepository } from './anonymous-devices.repository.ts';
import { KyselyBlobLedger } from './blob-ledger.repository.ts';
import { deviceRepository, tokenRepository } from './credentials.repository.ts';
import { KyselyDataCopy } from './data-copy.repository.ts';
import { type DialectKind, dialectOf } from './dialect.ts';
import { type CommitDurably, commitInTransaction } from './durable-commit.ts';
import { KyselyHeldImageRepository } from './held-images.repository.ts';
import { KyselyImageRepository } from './images.repository.ts';
import { KyselyImportSourceRepository } from './import-sources.repository.ts';
import { KyselyIntegrityRepository } from './integrity.repository.ts';
import { KyselyInviteRepository } from './invites.repository.ts';
import { KyselyJobRepository } from './jobs.repository.ts';
import { KyselyOAuthRepository } from './oauth.repository.ts';
import { kyselyReader, type ReadRunner } from './reusable-query.ts';
import type { Database } from './schema.ts';
import { KyselyServerSecrets, KyselySessionRepository } from './sessions.repository.ts';
import type { MetadataStore, StoreRepositories, StoreTransaction } from './types.ts';
import { KyselyUserRepository } from './users.repository.ts';

/** The repositories over `db` (the store's, or a transaction's), hot reads through `reader`. */
function repositories(
  db: Kysely<Database>,
  reader: ReadRunner,
  ends: StoreEnds,
  commitDurably: CommitDurably,
): StoreRepositories {
  return {
    users: new KyselyUserRepository(db),
    tokens: tokenRepository(db, reader),
    devices: deviceRepository(db, reader),
    images: new KyselyImageRepository(db, reader, commitDurably),
    jobs: new KyselyJobRepository(db, ends.livenessKey),
    importSources: new KyselyImportSourceRepository(db),
    sessions: new KyselySessionRepository(db),
    invites: new KyselyInviteRepository(db),
    secrets: new KyselyServerSecrets(db),
    oauth: new KyselyOAuthRepository(db),
  };
}

/** What differs in how each dialect's store is opened and closed. */
export interface StoreEnds {
  kind: DialectKind;
  backupTo(file: string): Promise<void>;
  close(): Promise<void>;
  /** What proves this process's job leases held by a live process (see postgres/liveness.ts). */
  livenessKey?: () => Promise<number | undefined>;
  /** How an upload's commit is made durable; by default a transaction durable by itself. */
  commitDurably?: CommitDurably;
}

/** The metadata store on a Kysely database of either dialect: the same repositories, one transaction(fn). */
export function kyselyStore(db: Kysely<Database>, reader: ReadRunner, ends: StoreEnds): MetadataStore {
  const commitDurably = ends.commitDurably ?? commitInTransaction;
  return {
    ...repositories(db, reader, ends, commitDurably),
    blobLedger: new KyselyBlobLedger(db),
    integrity: new KyselyIntegrityRepository(db),
    heldImages: new KyselyHeldImageRepository(db, commitDurably),
    anonymousDevices: new KyselyAnonymousDeviceRepository(db),
    dataCopy: new KyselyDataCopy(db),
    transaction: (work) =>
      db.transaction().execute((trx) => {
        // Reads inside see the transaction's own writes: they go through it, uncached.
        const tx: StoreTransaction = {
          ...repositories(trx, kyselyReader(trx), ends, commitDurably),
          blobLedger: new KyselyBlobLedger(trx),
          lock: (name) => dialectOf(trx).lock(trx, name),
        };
        return work(tx);
      }),
    ...ends,
  };
}
