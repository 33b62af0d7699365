import path from 'node:path';
import type { BlobStore } from './blob-store.ts';
import type { BlobsConfig } from './blobs-url.ts';
import { LocalBlobStore } from './local-blob-store.ts';
import { StagingDir } from './staging-dir.ts';

/** The blob folder (and, with S3, the staging folder) under a data dir. */
const blobsDir = (dataDir: string) => path.join(dataDir, 'blobs');

/** The configured backend. Uploads are staged under `<data dir>/blobs/tmp` either way. */
export async function openBlobStore(dataDir: string, config: BlobsConfig): Promise<BlobStore> {
  const root = blobsDir(dataDir);
  if (config.kind === 'folder') return new LocalBlobStore(root);
  // Loaded only when used: the SDK is a lot of modules for a server that keeps its blobs on disk.
  const { S3BlobStore, s3Client } = await import('./s3-blob-store.ts');
  return new S3BlobStore(s3Client(config.location), config.location, {
    staging: new StagingDir(path.join(root, 'tmp')),
    ...(config.presignSeconds && { presignSeconds: config.presignSeconds }),
  });
}
