import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../src/blobs/local-blob-store.ts';
import { DecodeBudget } from '../../src/imaging/decode-budget.ts';
import { PreparedPixels } from '../../src/ocr/prepared-pixels.ts';
import { ThumbnailService } from '../../src/services/thumbnails.service.ts';
import { UploadService } from '../../src/services/upload.service.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import type { UserRow } from '../../src/store/schema.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { solidPng } from '../helpers/images.ts';
import { makeDataDir } from '../helpers/server.ts';

/** The thumbnail's decode is the image's only one: OCR takes its input from it. */
describe('OCR input from the thumbnail decode', () => {
  let dir: string;
  let store: MetadataStore;
  let blobs: LocalBlobStore;
  let user: UserRow;
  /** Reads of an original: each is a full decode. */
  let originalsRead: number;
  const limits = { maxPixels: 1e7, thumbSize: 500 };

  beforeEach(async () => {
    dir = await makeDataDir();
    store = await openSqliteStore(dir);
    blobs = new LocalBlobStore(path.join(dir, 'blobs'));
    originalsRead = 0;
    const withLocalFile = blobs.withLocalFile.bind(blobs);
    blobs.withLocalFile = (key, use) => {
      originalsRead++;
      return withLocalFile(key, use);
    };
    user = await store.users.create({ uid: 'u', name: 'u', email: null, passwordHash: null });
  });
  afterEach(async () => {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const service = () =>
    new ThumbnailService(
      store,
      blobs,
      new DecodeBudget(64 * 1024 * 1024),
      limits,
      new PreparedPixels(1 << 24),
    );
  const upload = (bytes: Buffer) => new UploadService(store, blobs, limits).upload(user.id, bytes);

  it('decodes once whether the thumbnail job ran first, runs at the same time, or has not run', async () => {
    const thumbnails = service();
    const first = await upload(await solidPng(800, 600, '#202020'));
    await thumbnails.runJob({ blobKey: first.blob_key });
    const input = await thumbnails.ocrInput(first);
    expect(originalsRead).toBe(1);
    // A greyscale PNG of the image's size; the dark ground is inverted to light.
    const meta = await sharp(input).metadata();
    expect([meta.format, meta.width, meta.height, meta.channels]).toEqual(['png', 800, 600, 1]);
    const { data } = await sharp(input).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect(data[0]).toBe(255 - 0x20);

    const second = await upload(await solidPng(800, 600, '#eeeeee'));
    const [, together] = await Promise.all([
      thumbnails.runJob({ blobKey: second.blob_key }),
      thumbnails.ocrInput(second),
    ]);
    expect(together).toBeInstanceOf(Buffer);
    expect(originalsRead).toBe(2);

    const third = await upload(await solidPng(800, 600, '#dddddd'));
    expect(await thumbnails.ocrInput(third)).toBeInstanceOf(Buffer);
    await thumbnails.runJob({ blobKey: third.blob_key });
    expect(originalsRead).toBe(3);
  });

  it('decodes again only when the first decode is no longer at hand (after a restart)', async () => {
    const row = await upload(await solidPng(300, 200));
    await service().runJob({ blobKey: row.blob_key });
    expect(await service().ocrInput(row)).toBeInstanceOf(Buffer);
    expect(originalsRead).toBe(2);
  });
});
