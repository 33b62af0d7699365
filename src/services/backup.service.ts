import fs from 'node:fs/promises';
import path from 'node:path';
import { type BlobStore, originalKey, thumbnailKey } from '../blobs/blob-store.ts';
import { LocalBlobStore } from '../blobs/local-blob-store.ts';
import { makePrivateDir } from '../data-dir.ts';
import { syncPath } from '../fsync.ts';
import { openSqliteStore, SQLITE_FILE } from '../store/index.ts';
import type { MetadataStore } from '../store/types.ts';
import {
  type BackupMarker,
  checkBackupTarget,
  PARTIAL_SQLITE,
  sha256File,
  writeMarker,
} from './backup-target.ts';
import { describeKey } from './blob-keys.ts';

export interface BackupSource {
  store: MetadataStore;
  blobs: BlobStore;
  thumbSize: number;
  dataDir: string;
}

/** A file an image of the backup needs that the data dir does not have. */
export interface MissingFile {
  imageId: string;
  kind: 'original' | 'thumbnail';
  key: string;
}

export interface BackupResult {
  images: number;
  blobsCopied: number;
  /** Files of the backup no image uses any more (deleted since the last backup). */
  blobsRemoved: number;
  missing: MissingFile[];
}

/**
 * Copies a live data dir into `dest` so that `dest` is itself a data dir Gazo can serve: first a
 * consistent snapshot of the database, then every blob that snapshot refers to; only then does
 * the snapshot replace the backup's database. Blobs never change under a key, so blobs already in
 * `dest` from an earlier backup are skipped. `dest` must be missing, empty, or an earlier backup
 * of this same data dir (see checkBackupTarget); a marker file says whose backup it is.
 */
export async function backupDataDir(source: BackupSource, dest: string): Promise<BackupResult> {
  const id = await source.store.integrity.dataDirId();
  await checkBackupTarget(dest, { id, dataDir: source.dataDir });
  const marker: BackupMarker = {
    format: 1,
    data_dir_id: id,
    source: source.dataDir,
    state: 'writing',
    started_at: new Date().toISOString(),
  };
  await makePrivateDir(dest);
  await makePrivateDir(path.join(dest, 'blobs'));
  await writeMarker(dest, marker);

  for (const suffix of ['', '-wal', '-shm'])
    await fs.rm(path.join(dest, PARTIAL_SQLITE + suffix), { force: true });
  await source.store.backupTo(path.join(dest, PARTIAL_SQLITE));
  const snapshot = await openSqliteStore(dest, PARTIAL_SQLITE);
  const target = new LocalBlobStore(path.join(dest, 'blobs'));
  // What an interrupted earlier run was writing when it stopped.
  await target.sweepIncomplete();
  let copied: Awaited<ReturnType<typeof copyBlobs>>;
  let images: number;
  try {
    copied = await copyBlobs(source, snapshot, target);
    images = await snapshot.images.countAll();
  } finally {
    await snapshot.close();
  }

  // The old database's -wal and -shm must not outlive it: SQLite would apply them to the new one.
  for (const suffix of ['-wal', '-shm']) await fs.rm(path.join(dest, SQLITE_FILE + suffix), { force: true });
  await fs.rename(path.join(dest, PARTIAL_SQLITE), path.join(dest, SQLITE_FILE));
  await syncPath(dest);
  const blobsRemoved = await removeUnused(target, copied.keys, source.thumbSize);
  await writeMarker(dest, {
    ...marker,
    state: 'complete',
    finished_at: new Date().toISOString(),
    database_sha256: await sha256File(path.join(dest, SQLITE_FILE)),
  });
  return { images, blobsCopied: copied.blobsCopied, blobsRemoved, missing: copied.missing };
}

/**
 * Copies each blob the snapshot's images use. A file missing in the data dir is either gone for
 * good (a live image still needs it: reported) or was collected because its images were deleted
 * after the snapshot was taken: those images leave the backup too, as they left the data dir.
 */
async function copyBlobs(source: BackupSource, snapshot: MetadataStore, target: BlobStore) {
  const keys = new Set(await snapshot.images.allBlobKeys());
  // A thumbnail still to be made is not lost: the snapshot holds its job, which runs on restore.
  const thumbnailQueued = new Set(await snapshot.integrity.blobKeysAwaitingThumbnail());
  const missing: MissingFile[] = [];
  let blobsCopied = 0;
  for (const hash of keys) {
    const files = [
      { kind: 'original' as const, key: originalKey(hash) },
      { kind: 'thumbnail' as const, key: thumbnailKey(hash, source.thumbSize) },
    ];
    const lost: typeof files = [];
    for (const file of files) {
      if (await target.exists(file.key)) {
        // Already backed up; but a file gone from the data dir is still something to report.
        if (!(await source.blobs.exists(file.key))) lost.push(file);
        continue;
      }
      const bytes = await source.blobs.read(file.key);
      if (!bytes) {
        if (!(file.kind === 'thumbnail' && thumbnailQueued.has(hash))) lost.push(file);
        continue;
      }
      await target.put(file.key, bytes);
      blobsCopied++;
    }
    if (lost.length === 0) continue;
    const live = await source.store.integrity.imagesUsingBlob(hash);
    if (live.length > 0) {
      for (const image of live) for (const file of lost) missing.push({ imageId: image.image_id, ...file });
    } else {
      for (const image of await snapshot.integrity.imagesUsingBlob(hash)) {
        await snapshot.images.delete(image.image_id, image.user_id);
      }
      keys.delete(hash);
    }
  }
  // An upload held for a claim (easy_auth, an unlinked device) has its original and no thumbnail
  // yet. One collected since the snapshot had expired: the restored copy's job removes its row.
  for (const hash of await snapshot.heldImages.blobKeys()) {
    const key = originalKey(hash);
    const bytes = (await target.exists(key)) ? undefined : await source.blobs.read(key);
    if (bytes) {
      await target.put(key, bytes);
      blobsCopied++;
    }
    keys.add(hash);
  }
  return { keys, blobsCopied, missing };
}

/** Removes the backup's blobs that no image in it uses, so the backup is a data dir fsck finds clean. */
async function removeUnused(target: BlobStore, keys: Set<string>, thumbSize: number): Promise<number> {
  let removed = 0;
  for await (const key of target.list()) {
    const { valid, hash, current } = describeKey(key, thumbSize);
    if (!valid || (current && keys.has(hash))) continue;
    await target.delete(key);
    removed++;
  }
  return removed;
}
