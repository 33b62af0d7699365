import fs from 'node:fs/promises';
import path from 'node:path';
import { type BlobStore, originalKey, thumbnailKey } from '../blobs/blob-store.ts';
import { LocalBlobStore } from '../blobs/local-blob-store.ts';
import { openSqliteStore, SQLITE_FILE } from '../store/index.ts';
import type { MetadataStore } from '../store/types.ts';

/**
 * Copies a live data dir into `dest` so that `dest` is itself a data dir Gazo can serve: first a
 * consistent snapshot of the database, then every blob that snapshot refers to. Blobs never
 * change under a key, so blobs already in `dest` from an earlier backup are skipped.
 */
export async function backupDataDir(
  store: MetadataStore,
  blobs: BlobStore,
  thumbSize: number,
  dest: string,
): Promise<{ images: number; blobsCopied: number }> {
  await fs.mkdir(dest, { recursive: true });
  const snapshotFile = path.join(dest, SQLITE_FILE);
  await fs.rm(snapshotFile, { force: true });
  await store.backupTo(snapshotFile);

  const snapshot = await openSqliteStore(dest);
  const target = new LocalBlobStore(path.join(dest, 'blobs'));
  let blobsCopied = 0;
  try {
    for (const hash of await snapshot.images.allBlobKeys()) {
      for (const key of [originalKey(hash), thumbnailKey(hash, thumbSize)]) {
        if (await target.exists(key)) continue;
        const bytes = await blobs.read(key);
        // Deleted since the snapshot was taken: the image is gone from the live server too.
        if (!bytes) continue;
        await target.put(key, bytes);
        blobsCopied++;
      }
    }
    return { images: await snapshot.images.countAll(), blobsCopied };
  } finally {
    await snapshot.close();
  }
}
