import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type BlobStore, originalKey, thumbnailKey } from '../blobs/blob-store.ts';
import { COPIED_TABLES, type CopiedRow, type CopiedTable } from '../store/data-copy.repository.ts';
import type { MetadataStore } from '../store/types.ts';
import { sha256File } from './backup-target.ts';
import { badRequest, ServiceError } from './errors.ts';

/** One side of a migration: the metadata and the bytes. */
export interface MigrationEnd {
  store: MetadataStore;
  blobs: BlobStore;
}

/** How a migration shows how far it is: one phase (blobs, then rows) at a time. */
export interface MigrationProgress {
  start(label: string, total: number): void;
  tick(n?: number): void;
  /** A line for the user (a thumbnail missing in the source, say). */
  note(line: string): void;
  stop(): void;
}

export interface MigrationResult {
  /** Files written to the target by this run (not those an earlier run had already copied). */
  blobsCopied: number;
  /** Files an earlier run had copied, whose bytes were checked again. */
  blobsVerified: number;
  /** Rows of each table in the target afterwards. */
  rows: Record<CopiedTable, number>;
  /** Thumbnails the source lacks: the target makes them again (`gazo fsck --repair`). */
  missingThumbnails: number;
}

const BATCH = 200;

const sha256Of = async (stream: Readable) => {
  const hash = createHash('sha256');
  await pipeline(stream, hash);
  return hash.digest('hex');
};

/**
 * Copies an embedded data dir (SQLite and its blob folder) into an empty PostgreSQL database and
 * blob store, keeping every id, hash and secret, so that tokens, sessions, device ids and image
 * URLs keep working. Blobs first, each checked against its hash on both sides, then rows, table
 * by table in key order. A run that was cut short is run again: the target's identity says it is
 * this data dir's copy, blobs already there are checked rather than copied, rows already there
 * are kept. The caller holds the source's serve lock, so nothing changes it meanwhile.
 */
export async function migrateData(
  source: MigrationEnd,
  target: MigrationEnd,
  options: { thumbSize: number; now?: number },
  progress: MigrationProgress,
): Promise<MigrationResult> {
  if (source.store.kind !== 'sqlite')
    throw badRequest('migrate-data copies from an embedded (SQLite) data dir');
  const unlisted = await source.store.dataCopy.unlistedTables();
  if (unlisted.length > 0)
    throw new Error(
      `migrate-data does not know the table(s) ${unlisted.join(', ')} of the data dir: list each as copied or not in store/data-copy.repository.ts (nothing was migrated)`,
    );
  await claimTarget(source.store, target.store);
  const blobs = await copyBlobs(source, target, options.thumbSize, progress);
  const rows = await copyRows(source.store, target.store, options.now ?? Date.now(), progress);
  return { ...blobs, rows };
}

/** The target must be empty, or this data dir's copy from an earlier run; it becomes the latter. */
async function claimTarget(source: MetadataStore, target: MetadataStore): Promise<void> {
  const identity = await source.dataCopy.identity();
  if ((await target.dataCopy.identity()).id === identity.id) return;
  if (await target.dataCopy.holdsUserData()) {
    throw badRequest(
      'the target database already holds users or images of another Gazo install; migrate into an empty database',
    );
  }
  await target.dataCopy.takeIdentity(identity.id, identity.created_at);
}

async function copyBlobs(
  source: MigrationEnd,
  target: MigrationEnd,
  thumbSize: number,
  progress: MigrationProgress,
): Promise<Omit<MigrationResult, 'rows'>> {
  const hashes = await source.store.images.allBlobKeys();
  // An upload waiting for a claim (easy_auth, an unlinked device) has its original, no thumbnail yet.
  const imageHashes = new Set(hashes);
  const heldOnly = (await source.store.heldImages.blobKeys()).filter((h) => !imageHashes.has(h));
  const queued = new Set(await source.store.integrity.blobKeysAwaitingThumbnail());
  const result = { blobsCopied: 0, blobsVerified: 0, missingThumbnails: 0 };
  const count = (outcome: 'copied' | 'verified') => {
    if (outcome === 'copied') result.blobsCopied++;
    else result.blobsVerified++;
    progress.tick();
  };
  progress.start('files', hashes.length * 2 + heldOnly.length);
  try {
    for (const hash of hashes) {
      const original = await copyBlob(source.blobs, target.blobs, originalKey(hash), hash);
      if (original === 'missing') {
        const images = await source.store.integrity.imagesUsingBlob(hash);
        throw missingOriginal(`the original of image ${images.map((i) => i.image_id).join(', ')}`, hash);
      }
      count(original);
      const key = thumbnailKey(hash, thumbSize);
      const thumbnail = await copyBlob(source.blobs, target.blobs, key, undefined);
      if (thumbnail !== 'missing') count(thumbnail);
      else {
        if (!queued.has(hash)) {
          result.missingThumbnails++;
          progress.note(`thumbnail ${key} is missing in the data dir: run gazo fsck --repair on the target`);
        }
        progress.tick();
      }
    }
    for (const hash of heldOnly) {
      const original = await copyBlob(source.blobs, target.blobs, originalKey(hash), hash);
      if (original === 'missing')
        throw missingOriginal('the original of an upload waiting to be claimed', hash);
      count(original);
    }
  } finally {
    progress.stop();
  }
  return result;
}

const missingOriginal = (what: string, hash: string) =>
  badRequest(
    `${what} (${originalKey(hash)}) is missing in the data dir; run gazo fsck there, nothing was migrated past this point`,
  );

/**
 * Copies one blob unless the target has it with the right bytes already. An original's bytes
 * must hash to its key (content addressing): a file that does not is refused, never spread.
 * A run that was cut short may have left anything under a key, and on a store whose writes are
 * not atomic (s3rver, some gateways) a write of the dead run may still be landing: what does not
 * read back whole counts as absent, and a copy that reads back wrong is written once more.
 */
export async function copyBlob(
  from: BlobStore,
  to: BlobStore,
  key: string,
  expectedHash: string | undefined,
): Promise<'copied' | 'verified' | 'missing'> {
  const outcome = await from.withLocalFile(key, async (file) => {
    const hash = await sha256File(file);
    if (expectedHash !== undefined && hash !== expectedHash) {
      throw badRequest(
        `${key} in the data dir is corrupt: its bytes hash to ${hash}, not to its name; run gazo fsck there (nothing was migrated past this point)`,
      );
    }
    if ((await hashInTarget(to, key)) === hash) return 'verified' as const;
    let stored: string | undefined;
    for (let attempt = 0; attempt < 2 && stored !== hash; attempt++) {
      await to.putStream(key, createReadStream(file));
      stored = await hashInTarget(to, key);
    }
    if (stored !== hash) {
      throw new ServiceError(
        500,
        `${key} reads back from the target with SHA-256 ${stored ?? '(missing or unreadable)'}, not ${hash}: the target store is not keeping bytes intact (nothing was migrated past this point)`,
      );
    }
    return 'copied' as const;
  });
  return outcome ?? 'missing';
}

/** The hash of what the target holds under `key`; undefined when it has nothing readable there. */
const hashInTarget = async (blobs: BlobStore, key: string) => {
  try {
    const stream = await blobs.stream(key);
    return stream && (await sha256Of(stream));
  } catch {
    return undefined;
  }
};

/** Rows a copy leaves behind or changes: dead sessions and codes stay, no lease outlives its holder. */
function carried(table: CopiedTable, row: CopiedRow, now: number): CopiedRow | undefined {
  if ((table === 'sessions' || table === 'oauth_codes') && Number(row.expires_at) <= now) return undefined;
  if (table === 'jobs') return { ...row, locked_until: null, lease_owner: null };
  return row;
}

/**
 * The rows part of migrateData on its own (the bench seeds PostgreSQL from a seeded data dir with
 * it): every copied table with its own keys, then the target made ready to use them (identity
 * counters past the copied ids, planner statistics of the copied rows).
 */
export async function copyRows(
  source: MetadataStore,
  target: MetadataStore,
  now: number,
  progress: MigrationProgress,
): Promise<Record<CopiedTable, number>> {
  const tables = Object.keys(COPIED_TABLES) as CopiedTable[];
  let total = 0;
  for (const table of tables) total += await source.dataCopy.count(table);
  const counts = {} as Record<CopiedTable, number>;
  progress.start('rows', total);
  try {
    for (const table of tables) {
      const key = COPIED_TABLES[table];
      let after: string | number | undefined;
      for (;;) {
        const rows = await source.dataCopy.rowsAfter(table, after, BATCH);
        if (rows.length === 0) break;
        after = rows[rows.length - 1]?.[key] as string | number;
        const kept = rows.map((row) => carried(table, row, now)).filter((row) => row !== undefined);
        await target.dataCopy.insertKeepingKeys(table, kept);
        progress.tick(rows.length);
      }
      counts[table] = await target.dataCopy.count(table);
    }
  } finally {
    progress.stop();
  }
  await target.dataCopy.advanceIdentities();
  await target.dataCopy.refreshStatistics();
  return counts;
}
