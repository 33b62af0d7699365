import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { originalKey, thumbnailKey } from '../../src/blobs/blob-store.ts';
import { LocalBlobStore } from '../../src/blobs/local-blob-store.ts';
import { PENDING_UPLOAD_MAX_AGE_MS } from '../../src/jobs/housekeeping.ts';
import { BlobCollector } from '../../src/services/blob-collector.ts';
import { COLLECTION_LEASE_MS } from '../../src/store/blob-ledger.repository.ts';
import { forEachStore } from '../contracts/stores.ts';
import { makeDataDir } from '../helpers/server.ts';

const THUMB = 500;

/** The folder store of a process whose deletes fail (S3 gone away), or never return (it dies in them). */
class DyingDeletes extends LocalBlobStore {
  constructor(
    root: string,
    private readonly how: 'throw' | 'hang',
  ) {
    super(root);
  }
  override delete(_key: string): Promise<void> {
    if (this.how === 'throw') return Promise.reject(new Error('connect ECONNREFUSED'));
    return new Promise<void>(() => {});
  }
}

forEachStore('the sweep of dead uploads, when the sweeping process fails or dies mid-way', (t) => {
  let dir: string;
  let blobs: LocalBlobStore;
  const dead = randomBytes(32).toString('hex');
  const files = [originalKey(dead), thumbnailKey(dead, THUMB)];
  const left = async () => {
    const found: string[] = [];
    for (const key of files) if (await blobs.exists(key)) found.push(key);
    return found;
  };

  beforeEach(async () => {
    dir = await makeDataDir();
    blobs = new LocalBlobStore(path.join(dir, 'blobs'));
    // An upload that registered its bytes, wrote them and died before its commit.
    await t.store.blobLedger.addPending(dead, Date.now() - 1000);
    for (const key of files) await blobs.put(key, Buffer.from(`bytes of ${key}`));
  });
  afterEach(async () => {
    vi.useRealTimers();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('a sweep whose deletes fail leaves the work to the next sweep, which removes the bytes', async () => {
    const failing = new BlobCollector(t.store, new DyingDeletes(path.join(dir, 'blobs'), 'throw'), THUMB);
    await expect(failing.sweepAfterCrash(Date.now())).rejects.toThrow('ECONNREFUSED');
    expect(await left()).toEqual(files);

    const next = new BlobCollector(t.store, blobs, THUMB);
    expect(await next.sweepAfterCrash(Date.now())).toEqual({ collected: 1 });
    expect(await left()).toEqual([]);
    expect(await t.store.blobLedger.pendingKeys()).toEqual([]);
  });

  it('a process that dies in its deletes: the next one to start sweeps the bytes away', async () => {
    const dying = new BlobCollector(t.store, new DyingDeletes(path.join(dir, 'blobs'), 'hang'), THUMB);
    void dying.sweepAfterCrash(Date.now());
    // Its decision is committed (the upload's pending row is gone); it never gets further.
    await vi.waitFor(async () => expect(await t.store.blobLedger.pendingKeys()).toEqual([]));

    // A process starting on the data dir after it (SQLite's start-up: all before it is dead).
    const restarted = new BlobCollector(await t.peer(), blobs, THUMB);
    expect(await restarted.sweepAfterCrash(Date.now())).toEqual({ collected: 1 });
    expect(await left()).toEqual([]);
  });

  it('a process that dies in its deletes: the periodic sweep of another takes over once its lease is up', async () => {
    const dying = new BlobCollector(t.store, new DyingDeletes(path.join(dir, 'blobs'), 'hang'), THUMB);
    void dying.sweepAfterCrash(Date.now());
    await vi.waitFor(async () => expect(await t.store.blobLedger.pendingKeys()).toEqual([]));

    // What the housekeeping sweep of another process asks, while the lease still holds: nothing.
    const other = new BlobCollector(await t.peer(), blobs, THUMB);
    const periodic = () => other.sweepAfterCrash(Date.now() - PENDING_UPLOAD_MAX_AGE_MS);
    expect(await periodic()).toEqual({ collected: 0 });
    expect(await left()).toEqual(files);
    // Once the lease is over, the dead collector's work is finished.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + COLLECTION_LEASE_MS + 1000 });
    expect(await periodic()).toEqual({ collected: 1 });
    expect(await left()).toEqual([]);
  });
});
