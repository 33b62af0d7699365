import fs from 'node:fs/promises';
import path from 'node:path';
import { CachedBlobStore } from '../../src/blobs/cached-blob-store.ts';
import { LocalBlobStore } from '../../src/blobs/local-blob-store.ts';
import { makeDataDir } from '../helpers/server.ts';
import { blobStoreContract, filesIn } from './blob-store.contract.ts';

const local = async (cached: boolean) => {
  const dir = await makeDataDir();
  const folder = new LocalBlobStore(path.join(dir, 'blobs'));
  return {
    store: cached ? new CachedBlobStore(folder, 64 * 1024 * 1024) : folder,
    leftovers: () => filesIn(path.join(dir, 'blobs', 'tmp')),
    cleanup: () => fs.rm(dir, { recursive: true, force: true }),
  };
};

blobStoreContract('folder', () => local(false), { largeBytes: 12 * 1024 * 1024 });
// The cache serves reads and ranges from memory: it must behave as the store beneath it.
blobStoreContract('folder behind the in-memory cache', () => local(true), { largeBytes: 12 * 1024 * 1024 });
