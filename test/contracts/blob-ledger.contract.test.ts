import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { MetadataStore } from '../../src/store/types.ts';
import { imageRow } from '../helpers/rows.ts';
import { makeDataDir } from '../helpers/server.ts';
import { forEachStore } from './stores.ts';

const newKey = () => randomBytes(32).toString('hex');

forEachStore('blob ledger', (t) => {
  let files: string;
  beforeEach(async () => {
    files = await makeDataDir();
  });
  afterEach(async () => {
    await fs.rm(files, { recursive: true, force: true });
  });

  it('keeps pending uploads until removed; the sweep is handed the stale ones and drops them as it collects', async () => {
    const [a, b] = [newKey(), newKey()];
    await t.store.blobLedger.addPending(a, 1_000);
    await t.store.blobLedger.addPending(a, 1_000);
    const fresh = await t.store.blobLedger.addPending(b, 5_000);
    expect((await t.store.blobLedger.pendingKeys()).sort()).toEqual([a, b].sort());
    expect(await t.store.blobLedger.keysToSweep(2_000)).toEqual([a]);
    const removed: string[] = [];
    const remove = (key: string) => async () => {
      removed.push(key);
    };
    // Only a sweep's bound makes a pending upload dead: without it the blob is in use.
    expect(await t.store.blobLedger.collectIfUnused(a, remove(a))).toBe(false);
    expect(await t.store.blobLedger.collectIfUnused(a, remove(a), { deadBefore: 2_000 })).toBe(true);
    expect(await t.store.blobLedger.collectIfUnused(b, remove(b), { deadBefore: 2_000 })).toBe(false);
    expect(removed).toEqual([a]);
    expect(await t.store.blobLedger.keysToSweep(2_000)).toEqual([]);
    expect(await t.store.blobLedger.pendingKeys()).toEqual([b]);
    await t.store.blobLedger.removePending(fresh);
    expect(await t.store.blobLedger.pendingKeys()).toEqual([]);
  });

  it('a collection whose deletes fail is named to the sweep until one finishes it; uploads need not wait it out', async () => {
    const [key, other] = [newKey(), newKey()];
    const failing = async () => {
      throw new Error('bucket unreachable');
    };
    await expect(t.store.blobLedger.collectIfUnused(key, failing)).rejects.toThrow('bucket unreachable');
    // A bound long past: only unfinished collections are named.
    expect(await t.store.blobLedger.keysToSweep(0)).toEqual([key]);
    expect(await t.store.blobLedger.collectIfUnused(key, async () => {})).toBe(true);
    expect(await t.store.blobLedger.keysToSweep(0)).toEqual([]);

    await expect(t.store.blobLedger.collectIfUnused(other, failing)).rejects.toThrow();
    const started = Date.now();
    const pending = await (await t.peer()).blobLedger.addPending(other, Date.now());
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await t.store.blobLedger.keysToSweep(0)).toEqual([]);
    await t.store.blobLedger.removePending(pending);
  });

  it('collects a blob only when no image and no pending upload uses it', async () => {
    const user = await t.store.users.create({ uid: 'u', name: 'u', email: null, passwordHash: null });
    const row = imageRow(user.id, 1);
    const removed: string[] = [];
    const remove = (key: string) => async () => {
      removed.push(key);
    };
    const pending = await t.store.blobLedger.addPending(row.blob_key, Date.now());
    expect(await t.store.blobLedger.collectIfUnused(row.blob_key, remove(row.blob_key))).toBe(false);
    await t.store.images.insert(row, pending);
    expect(await t.store.blobLedger.collectIfUnused(row.blob_key, remove(row.blob_key))).toBe(false);
    await t.store.images.delete(row.image_id, user.id);
    expect(await t.store.blobLedger.collectIfUnused(row.blob_key, remove(row.blob_key))).toBe(true);
    expect(removed).toEqual([row.blob_key]);
  });

  it('deletes after its commit, and an upload of the same bytes waits until the deletes are done', async () => {
    const key = newKey();
    const peer = await t.peer();
    const events: string[] = [];
    let upload: Promise<number> | undefined;
    const collected = await t.store.blobLedger.collectIfUnused(key, async () => {
      // The decision is committed: another process's upload of these bytes starts now.
      upload = peer.blobLedger.addPending(key, Date.now()).then((id) => {
        events.push('upload registered');
        return id;
      });
      await sleep(300);
      events.push('files deleted');
    });
    expect(collected).toBe(true);
    const pendingId = await upload;
    expect(events).toEqual(['files deleted', 'upload registered']);
    // And now the upload holds the blob: no collection takes it from under it.
    expect(
      await t.store.blobLedger.collectIfUnused(key, async () => {
        events.push('deleted again');
      }),
    ).toBe(false);
    await peer.blobLedger.removePending(pendingId as number);
  });

  it('leaves a blob to the collector already deleting it: a second one neither waits nor deletes', async () => {
    const key = newKey();
    const peer = await t.peer();
    const events: string[] = [];
    await t.store.blobLedger.collectIfUnused(key, async () => {
      // Another worker's job for the same blob runs meanwhile.
      const second = await peer.blobLedger.collectIfUnused(key, async () => {
        events.push('second deleted');
      });
      events.push(`second collected: ${second}`);
      await sleep(50);
      events.push('first deleted');
    });
    expect(events).toEqual(['second collected: false', 'first deleted']);
  });

  it('never leaves an image whose bytes a collection racing its upload deleted, however they interleave', async () => {
    const uploader = t.store;
    const collector = await t.peer();
    const user = await uploader.users.create({ uid: 'u', name: 'u', email: null, passwordHash: null });
    const key = newKey();
    const file = path.join(files, key);
    const jitter = () => sleep(Math.floor(Math.random() * 4));
    // The blob starts out used by one image, which is deleted as the race begins.
    let current = imageRow(user.id, 0, { blob_key: key });
    await fs.writeFile(file, 'bytes');
    await uploader.images.insert(current, await uploader.blobLedger.addPending(key, Date.now()));
    for (let round = 0; round < 80; round++) {
      await collector.images.delete(current.image_id, user.id);
      const next = imageRow(user.id, round + 1, { blob_key: key });
      await Promise.all([
        (async () => {
          await jitter();
          await collector.blobLedger.collectIfUnused(key, async () => {
            await jitter();
            await fs.rm(file, { force: true });
          });
        })(),
        (async () => {
          await jitter();
          // An upload: register, write the bytes (content-addressed: written again), commit.
          const pending = await uploader.blobLedger.addPending(key, Date.now());
          await jitter();
          await fs.writeFile(file, 'bytes');
          await jitter();
          await uploader.images.insert(next, pending);
        })(),
      ]);
      current = next;
      expect(await uploader.images.findByImageId(next.image_id), `round ${round}`).toBeDefined();
      await expect(fs.access(file), `round ${round}: the image's bytes are there`).resolves.toBeUndefined();
    }
  });
});

forEachStore('transactions', (t) => {
  it('commits what the repositories of the transaction wrote together, jobs included, or nothing', async () => {
    const work = async (store: MetadataStore, fail: boolean) =>
      store.transaction(async (tx) => {
        const user = await tx.users.create({ uid: 'u', name: 'alice', email: null, passwordHash: null });
        const row = imageRow(user.id, 1);
        const image = await tx.images.insert(row, await tx.blobLedger.addPending(row.blob_key, Date.now()));
        // Reads inside see the transaction's own writes.
        expect((await tx.images.findByImageId(image.image_id))?.image_id).toBe(image.image_id);
        expect((await tx.users.findById(user.id))?.image_count).toBe(1);
        await tx.jobs.enqueue({ kind: 'test.after', payload: { imageId: image.image_id } });
        if (fail) throw new Error('changed my mind');
        return image.image_id;
      });
    await expect(work(t.store, true)).rejects.toThrow('changed my mind');
    expect(await t.store.users.list()).toEqual([]);
    expect(await t.store.jobs.countPending()).toBe(0);
    expect(await t.store.blobLedger.pendingKeys()).toEqual([]);
    const imageId = await work(t.store, false);
    expect((await t.store.images.findByImageId(imageId))?.image_id).toBe(imageId);
    expect(await t.store.jobs.countPending()).toBe(1);
  });

  it('holds a named lock until the transaction ends: a second taker waits for it', async () => {
    const peer = await t.peer();
    const events: string[] = [];
    const first = t.store.transaction(async (tx) => {
      await tx.lock('thing');
      events.push('first has it');
      await sleep(250);
      events.push('first done');
    });
    await sleep(50);
    const second = peer.transaction(async (tx) => {
      await tx.lock('thing');
      events.push('second has it');
    });
    await Promise.all([first, second]);
    expect(events).toEqual(['first has it', 'first done', 'second has it']);
  });
});
