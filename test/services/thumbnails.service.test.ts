import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { thumbnailKey } from '../../src/blobs/blob-store.ts';
import { LocalBlobStore } from '../../src/blobs/local-blob-store.ts';
import { DecodeBudget } from '../../src/imaging/decode-budget.ts';
import { checkStructure } from '../../src/imaging/structure.ts';
import { ThumbnailService } from '../../src/services/thumbnails.service.ts';
import { UploadService } from '../../src/services/upload.service.ts';
import { UploadActivity } from '../../src/services/upload-activity.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import type { UserRow } from '../../src/store/schema.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { solidPng, undecodablePng } from '../helpers/images.ts';
import { makeDataDir } from '../helpers/server.ts';

describe('ThumbnailService', () => {
  let dir: string;
  let store: MetadataStore;
  let blobs: LocalBlobStore;
  let user: UserRow;
  let puts: string[];
  const limits = { maxPixels: 1e7, thumbSize: 500 };

  beforeEach(async () => {
    dir = await makeDataDir();
    store = await openSqliteStore(dir);
    blobs = new LocalBlobStore(path.join(dir, 'blobs'));
    puts = [];
    const put = blobs.put.bind(blobs);
    blobs.put = async (key, data) => {
      puts.push(key);
      return put(key, data);
    };
    user = await store.users.create({ uid: 'u', name: 'u', email: null, passwordHash: null });
  });
  afterEach(async () => {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const service = () => new ThumbnailService(store, blobs, new DecodeBudget(64 * 1024 * 1024), limits);
  const upload = (bytes: Buffer) => new UploadService(store, blobs, limits).upload(user.id, bytes);

  it('makes a thumbnail asked for before its job ran, once for many askers; the job then does nothing', async () => {
    const row = await upload(await solidPng(1200, 800));
    const thumbnails = service();
    const answers = await Promise.all(Array.from({ length: 5 }, () => thumbnails.get(row)));
    expect(puts).toEqual([thumbnailKey(row.blob_key, 500)]);
    for (const answer of answers) expect(answer?.placeholder).toBe(false);
    expect(answers[0]?.bytes.equals(answers[4]?.bytes as Buffer)).toBe(true);
    await thumbnails.runJob({ blobKey: row.blob_key });
    expect(puts).toHaveLength(1);
  });

  it('decodes for jobs one at a time while an upload runs, two at a time once uploads stop', async () => {
    const rows = [];
    for (let i = 0; i < 4; i++) rows.push(await upload(await solidPng(300 + i, 200)));
    // Each decode holds the original for a while, so that jobs that may overlap do.
    let decoding = 0;
    let most = 0;
    const withLocalFile = blobs.withLocalFile.bind(blobs);
    blobs.withLocalFile = (key, use) =>
      withLocalFile(key, async (file) => {
        most = Math.max(most, ++decoding);
        try {
          await new Promise((r) => setTimeout(r, 150));
          return await use(file);
        } finally {
          decoding--;
        }
      });
    const uploads = new UploadActivity();
    const thumbnails = new ThumbnailService(
      store,
      blobs,
      new DecodeBudget(64 * 1024 * 1024),
      limits,
      undefined,
      uploads,
    );
    const old = Date.now() - 60_000; // past the wait for quiet: the jobs may start at once
    const ended = uploads.begin();
    await Promise.all(rows.slice(0, 2).map((row) => thumbnails.runJob({ blobKey: row.blob_key }, old)));
    expect(most).toBe(1);
    ended();
    await new Promise((r) => setTimeout(r, 50));
    await Promise.all(rows.slice(2).map((row) => thumbnails.runJob({ blobKey: row.blob_key }, old)));
    expect(most).toBe(2);
    expect(puts).toHaveLength(4);
  });

  it('records pixels that do not decode, serves a placeholder, and the job completes instead of retrying', async () => {
    const bytes = await undecodablePng();
    // The upload's structural check passes: the damage is inside the compressed data.
    const file = path.join(dir, 'bad.png');
    await fs.writeFile(file, bytes);
    await expect(checkStructure(file, 'png')).resolves.toBeUndefined();
    const row = await upload(bytes);

    const thumbnails = service();
    await expect(thumbnails.runJob({ blobKey: row.blob_key })).resolves.toBeUndefined();
    const recorded = await store.images.findByImageId(row.image_id);
    expect(recorded?.decode_error).toBe('Image is truncated or corrupt');
    const answer = await thumbnails.get(recorded as typeof row);
    expect(answer?.placeholder).toBe(true);
    expect(answer?.bytes.subarray(1, 4).toString()).toBe('PNG');
    expect(puts).toEqual([]);
    // The owner's cached list pages are told (images_version moved).
    expect((await store.users.findById(user.id))?.images_version).toBe(user.images_version + 2);
  });
});
