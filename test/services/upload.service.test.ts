import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore, ByteRange, DirectUrlHeaders } from '../../src/blobs/blob-store.ts';
import { LocalBlobStore } from '../../src/blobs/local-blob-store.ts';
import { BlobCollector } from '../../src/services/blob-collector.ts';
import { ServiceError } from '../../src/services/errors.ts';
import { UploadService } from '../../src/services/upload.service.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import type { UserRow } from '../../src/store/schema.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { pixelBombPng, solidPng, truncated } from '../helpers/images.ts';
import { makeDataDir } from '../helpers/server.ts';

/** A blob store that fails the Nth write (put or putFile), standing in for a full disk or a dying S3. */
class FailingBlobStore implements BlobStore {
  writes: string[] = [];
  constructor(
    private readonly inner: BlobStore,
    private readonly failOnWrite: number,
    private readonly failure: () => Error = () => new Error('disk broke'),
  ) {}
  private check(what: string) {
    this.writes.push(what);
    if (this.writes.length === this.failOnWrite) throw this.failure();
  }
  async put(key: string, data: Buffer) {
    this.check(`put ${key.split('/')[0]}`);
    return this.inner.put(key, data);
  }
  async putFile(key: string, file: string, options?: { synced?: boolean }) {
    this.check(`putFile ${key.split('/')[0]}`);
    return this.inner.putFile(key, file, options);
  }
  get stagedFilesBecomeBlobs() {
    return this.inner.stagedFilesBecomeBlobs;
  }
  stagingPath = () => this.inner.stagingPath();
  async putStream(key: string, source: Readable) {
    this.check(`putStream ${key.split('/')[0]}`);
    return this.inner.putStream(key, source);
  }
  withLocalFile = <T>(key: string, use: (file: string) => Promise<T>) => this.inner.withLocalFile(key, use);
  stream = (key: string, range?: ByteRange) => this.inner.stream(key, range);
  stat = (key: string) => this.inner.stat(key);
  directUrl = (key: string, headers: DirectUrlHeaders) => this.inner.directUrl(key, headers);
  freeBytes = () => this.inner.freeBytes();
  read = (key: string) => this.inner.read(key);
  exists = (key: string) => this.inner.exists(key);
  delete = (key: string) => this.inner.delete(key);
  list = () => this.inner.list();
  sweepIncomplete = () => this.inner.sweepIncomplete();
}

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });

async function listBlobs(blobs: BlobStore) {
  const keys: string[] = [];
  for await (const key of blobs.list()) keys.push(key);
  return keys.sort();
}

describe('UploadService', () => {
  let dir: string;
  let store: MetadataStore;
  let blobs: LocalBlobStore;
  let user: UserRow;
  const limits = { maxPixels: 10_000_000, thumbSize: 500 };

  beforeEach(async () => {
    dir = await makeDataDir();
    store = await openSqliteStore(dir);
    blobs = new LocalBlobStore(path.join(dir, 'blobs'));
    user = await store.users.create({ uid: 'u', name: 'u', email: null, passwordHash: null });
  });
  afterEach(async () => {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('stores the original, the row pointing at it, and queues its thumbnail in the same commit', async () => {
    const row = await new UploadService(store, blobs, limits).upload(user.id, await solidPng(800, 600));
    expect(row.type).toBe('png');
    expect([row.width, row.height]).toEqual([800, 600]);
    expect(await listBlobs(blobs)).toEqual([`orig/${row.blob_key}`]);
    expect(await store.blobLedger.pendingKeys()).toEqual([]);
    const jobs = await store.jobs.claim(['image.thumbnail'], 10, Date.now(), 1000);
    expect(jobs.map((j) => JSON.parse(j.payload))).toEqual([{ blobKey: row.blob_key }]);
  });

  it.each([
    ['not an image', async () => Buffer.from('hello, world'), 'Not an Image'],
    ['a truncated image', async () => truncated(await solidPng(300, 300)), 'Image is truncated or corrupt'],
    ['a pixel bomb', () => pixelBombPng(), 'Image is too large'],
  ])('refuses %s with 422 and stores nothing', async (_name, make, message) => {
    const service = new UploadService(store, blobs, limits);
    const error = await service.upload(user.id, await make()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).status).toBe(422);
    expect((error as ServiceError).message).toContain(message);
    expect(await store.images.countAll()).toBe(0);
    expect(await listBlobs(blobs)).toEqual([]);
    expect(await store.blobLedger.pendingKeys()).toEqual([]);
  });

  const stagedFiles = async () => (await fs.readdir(path.join(dir, 'blobs', 'tmp')).catch(() => [])).sort();

  it('leaves no row and no file, at once, when the blob write fails', async () => {
    const failing = new FailingBlobStore(blobs, 1);
    await expect(new UploadService(store, failing, limits).upload(user.id, await solidPng())).rejects.toThrow(
      'disk broke',
    );
    expect(await store.images.countAll()).toBe(0);
    expect(await store.blobLedger.pendingKeys()).toEqual([]);
    expect(await listBlobs(blobs)).toEqual([]);
    expect(await stagedFiles()).toEqual([]);
  });

  it('answers 507 when the disk is full, keeping nothing', async () => {
    const failing = new FailingBlobStore(blobs, 1, enospc);
    const error = await new UploadService(store, failing, limits)
      .upload(user.id, await solidPng())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).status).toBe(507);
    expect(await store.images.countAll()).toBe(0);
    expect(await store.blobLedger.pendingKeys()).toEqual([]);
    expect(await listBlobs(blobs)).toEqual([]);
    expect(await stagedFiles()).toEqual([]);
  });

  it('refuses an upload that would leave less than the disk reserve free', async () => {
    // A disk with 100 MB free (the real one's free space moves with whatever else runs here).
    const disk = new FailingBlobStore(blobs, 0);
    disk.freeBytes = async () => 100_000_000;
    const service = new UploadService(store, disk, { ...limits, diskReserveBytes: 64_000_000 });
    await expect(service.assertRoomFor(36_000_001)).rejects.toMatchObject({ status: 507 });
    await expect(service.assertRoomFor(36_000_000)).resolves.toBeUndefined();
  });

  it('does the same work for bytes already stored, so timing does not tell they exist', async () => {
    const bytes = await solidPng(100, 100);
    const first = new FailingBlobStore(blobs, 0);
    await new UploadService(store, first, limits).upload(user.id, bytes);
    const again = new FailingBlobStore(blobs, 0);
    await new UploadService(store, again, limits).upload(user.id, bytes);
    expect(again.writes).toEqual(first.writes);
    expect(again.writes).toEqual(['putFile orig']);
  });

  it('stores identical bytes once and keeps them while any image uses them', async () => {
    const service = new UploadService(store, blobs, limits);
    const bytes = await solidPng(100, 100);
    const a = await service.upload(user.id, bytes);
    const b = await service.upload(user.id, bytes);
    expect(a.image_id).not.toBe(b.image_id);
    expect(await listBlobs(blobs)).toEqual([`orig/${a.blob_key}`]);
    const collector = new BlobCollector(store, blobs, limits.thumbSize);
    await store.images.delete(a.image_id, user.id);
    expect(await collector.collect(a.blob_key)).toBe(false);
    expect(await listBlobs(blobs)).toHaveLength(1);
    await store.images.delete(b.image_id, user.id);
    expect(await collector.collect(b.blob_key)).toBe(true);
    expect(await listBlobs(blobs)).toEqual([]);
  });
});

describe('BlobCollector.sweepAfterCrash', () => {
  it('removes blobs of uploads that died before committing, keeps used ones and clears temp files', async () => {
    const dir = await makeDataDir();
    const store = await openSqliteStore(dir);
    const blobs = new LocalBlobStore(path.join(dir, 'blobs'));
    const user = await store.users.create({ uid: 'u', name: 'u', email: null, passwordHash: null });
    try {
      const kept = await new UploadService(store, blobs, { maxPixels: 1e7, thumbSize: 500 }).upload(
        user.id,
        await solidPng(10, 10),
      );
      // A crashed upload: registered, wrote its blob, never committed its row.
      const dead = 'ab'.repeat(32);
      await store.blobLedger.addPending(dead, Date.now() - 1000);
      await blobs.put(`orig/${dead}`, Buffer.from('x'));
      // A crashed upload of bytes another image already uses.
      await store.blobLedger.addPending(kept.blob_key, Date.now() - 1000);
      await fs.mkdir(path.join(dir, 'blobs', 'tmp'), { recursive: true });
      // A temp file of no known writer, untouched for two hours (see staging-sweep.test.ts for the rest).
      const half = path.join(dir, 'blobs', 'tmp', 'half.part');
      await fs.writeFile(half, 'torn');
      const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
      await fs.utimes(half, twoHoursAgo, twoHoursAgo);

      const result = await new BlobCollector(store, blobs, 500).sweepAfterCrash(Date.now());
      expect(result.collected).toBe(1);
      expect(await listBlobs(blobs)).toEqual([`orig/${kept.blob_key}`]);
      await expect(fs.access(half)).rejects.toThrow();
      expect(await store.blobLedger.pendingKeys()).toEqual([]);
    } finally {
      await store.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
