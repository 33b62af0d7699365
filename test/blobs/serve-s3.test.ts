import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BlobStore, s3Client } from '../../src/blobs/s3-blob-store.ts';
import { StagingDir } from '../../src/blobs/staging-dir.ts';
import { loadConfig } from '../../src/config.ts';
import { openRuntime } from '../../src/runtime.ts';
import { jsonOf } from '../helpers/api.ts';
import { killChildren, runCli, spawnServer } from '../helpers/child.ts';
import { noisePng, solidPng } from '../helpers/images.ts';
import { startTestS3, TEST_S3_CREDENTIALS, TEST_S3_ENV, type TestS3 } from '../helpers/s3-server.ts';
import { form, makeDataDir } from '../helpers/server.ts';

/** `gazo serve --blobs s3://…` as an operator runs it: a process of its own, credentials in AWS_*. */
describe('gazo serve with its blobs in an S3 bucket', { timeout: 120_000 }, () => {
  let s3: TestS3;
  let dataDir: string;
  let token: string;
  let bucket: S3BlobStore;

  beforeAll(async () => {
    s3 = await startTestS3(['gazo']);
    dataDir = await makeDataDir();
    const rt = await openRuntime(loadConfig({ dataDir }, {}));
    await rt.accounts.createUser('s3user');
    token = (await rt.accounts.createToken('s3user')).token;
    await rt.close();
    const location = { bucket: 'gazo', prefix: 'images/' };
    const client = s3Client({
      ...location,
      region: 'us-east-1',
      endpoint: s3.endpoint,
      credentials: TEST_S3_CREDENTIALS,
    });
    bucket = new S3BlobStore(client, location, { staging: new StagingDir(path.join(dataDir, 'check')) });
  });
  afterAll(async () => {
    await killChildren();
    await s3?.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  const keysInBucket = async () => {
    const keys: string[] = [];
    for await (const key of bucket.list()) keys.push(key);
    return keys.sort();
  };

  it('keeps uploads in the bucket, serves them, collects them when deleted, and fsck checks them', async () => {
    const env = { ...TEST_S3_ENV, GAZO_BLOBS: s3.blobsUrl('gazo/images') };
    const server = await spawnServer(dataDir, { env });
    const images = [await solidPng(64, 40, '#224466'), await noisePng(700, 700, 3)];
    const uploaded: Array<{ image_id: string; url: string }> = [];
    for (const bytes of images) {
      const res = await fetch(`${server.url}/api/upload?access_token=${token}`, {
        method: 'POST',
        body: form({ imagedata: { data: bytes } }),
      });
      uploaded.push(await jsonOf(res));
    }
    for (const [i, image] of uploaded.entries()) {
      const res = await fetch(image.url);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(images[i] as Buffer)).toBe(true);
    }
    // Originals and (once the jobs ran) thumbnails in the bucket under the prefix; none on disk.
    const deadline = Date.now() + 30_000;
    while ((await keysInBucket()).length < 4) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await keysInBucket()).map((k) => k.split('/')[0])).toEqual(['orig', 'orig', 'thumb', 'thumb']);
    const onDisk = await fs.readdir(path.join(dataDir, 'blobs'));
    expect(onDisk.filter((name) => name !== 'tmp')).toEqual([]);

    const gone = uploaded[1] as { image_id: string };
    const del = await fetch(`${server.url}/api/images/${gone.image_id}?access_token=${token}`, {
      method: 'DELETE',
    });
    expect(del.status).toBe(200);
    while ((await keysInBucket()).length > 2) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }
    await server.stop('SIGTERM');

    const fsck = await runCli(['fsck', '--data-dir', dataDir], { env });
    expect(fsck.stdout).toBe('fsck: 1 image and 2 files checked, no problems\n');
    expect(fsck.code).toBe(0);
  });
});
