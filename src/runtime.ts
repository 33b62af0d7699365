import path from 'node:path';
import type { BlobStore } from './blobs/blob-store.ts';
import { CachedBlobStore } from './blobs/cached-blob-store.ts';
import { LocalBlobStore } from './blobs/local-blob-store.ts';
import type { Config } from './config.ts';
import { makePrivateDir } from './data-dir.ts';
import { JobWorker } from './jobs/worker.ts';
import { AccountsService } from './services/accounts.service.ts';
import { BlobCollector } from './services/blob-collector.ts';
import { ImagesService } from './services/images.service.ts';
import { UploadService } from './services/upload.service.ts';
import { ImageUrls } from './services/wire.ts';
import { BLOB_GC_JOB } from './store/images.repository.ts';
import { openSqliteStore } from './store/index.ts';
import type { MetadataStore } from './store/types.ts';

/** Everything a Gazo process holds: the stores, the services built on them, and the job worker. */
export interface Runtime {
  config: Config;
  store: MetadataStore;
  blobs: BlobStore;
  accounts: AccountsService;
  images: ImagesService;
  uploads: UploadService;
  collector: BlobCollector;
  urls: ImageUrls;
  worker: JobWorker;
  close(): Promise<void>;
}

/** Opens the embedded stores under `config.dataDir` and wires the services. Starts nothing. */
export async function openRuntime(config: Config): Promise<Runtime> {
  const store = await openSqliteStore(config.dataDir);
  await makePrivateDir(path.join(config.dataDir, 'blobs'));
  const blobs = new CachedBlobStore(
    new LocalBlobStore(path.join(config.dataDir, 'blobs')),
    config.imageCacheBytes,
  );
  const collector = new BlobCollector(store, blobs, config.thumbSize);
  const worker = new JobWorker(store.jobs, {
    [BLOB_GC_JOB]: async (payload) => {
      await collector.collect((payload as { blobKey: string }).blobKey);
    },
  });
  return {
    config,
    store,
    blobs,
    accounts: new AccountsService(store),
    images: new ImagesService(store, blobs, config.thumbSize),
    uploads: new UploadService(store, blobs, {
      maxPixels: config.limits.maxPixels,
      thumbSize: config.thumbSize,
    }),
    collector,
    urls: new ImageUrls(config.urls, config.thumbSize),
    worker,
    async close() {
      await worker.stop();
      await store.close();
    },
  };
}
