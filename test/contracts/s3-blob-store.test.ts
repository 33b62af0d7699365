import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { S3BlobStore, s3Client } from '../../src/blobs/s3-blob-store.ts';
import { StagingDir } from '../../src/blobs/staging-dir.ts';
import { startTestS3, TEST_S3_CREDENTIALS, type TestS3 } from '../helpers/s3-server.ts';
import { makeDataDir } from '../helpers/server.ts';
import { blobStoreContract, filesIn } from './blob-store.contract.ts';

// One s3rver for the file; each test gets its own bucket prefix and staging folder.
let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3(['contract']);
});
afterAll(() => s3?.stop());

let run = 0;
blobStoreContract(
  'S3 (s3rver)',
  async () => {
    const dir = await makeDataDir();
    const staging = path.join(dir, 'staging');
    const location = { bucket: 'contract', prefix: `run-${++run}/` };
    const client = s3Client({
      ...location,
      region: 'us-east-1',
      endpoint: s3.endpoint,
      credentials: TEST_S3_CREDENTIALS,
    });
    const store = new S3BlobStore(client, location, {
      staging: new StagingDir(staging),
      partSize: 5 * 1024 * 1024,
      // A page of 3 keys, so that listing goes through continuation tokens.
      listPageSize: 3,
    });
    return {
      store,
      leftovers: () => filesIn(staging),
      cleanup: async () => {
        client.destroy();
        await fs.rm(dir, { recursive: true, force: true });
      },
    };
  },
  { largeBytes: 12 * 1024 * 1024 },
);
