import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { BLOB_GC_JOB, THUMBNAIL_JOB } from '../../src/store/images.repository.ts';
import type { ImageFileRow } from '../../src/store/types.ts';
import { imageRow } from '../helpers/rows.ts';
import { createUser, forEachStore, insertImage, STORE_KINDS } from './stores.ts';

const T0 = Date.UTC(2024, 4, 20);
/** A random blob key that starts with `first`: where it sorts is chosen, the rest is not. */
const key = (first: string) => first + randomBytes(32).toString('hex').slice(first.length);

forEachStore('integrity', (t) => {
  it('has one id per database, made with it: the same for every process, another for another database', async () => {
    const id = await t.store.integrity.dataDirId();
    expect(id).toMatch(/^\S{8,}$/);
    expect(await (await t.another()).integrity.dataDirId()).toBe(id);
    const elsewhere = await STORE_KINDS[t.home.kind]();
    const store = await elsewhere.open();
    try {
      expect(await store.integrity.dataDirId()).not.toBe(id);
    } finally {
      await store.close();
      await elsewhere.remove();
    }
  });

  it('walks every image in blob-key order (sharers together, by seq), page after page, with numbers', async () => {
    const alice = await createUser(t.store, 'alice');
    const bob = await createUser(t.store, 'bob');
    // Keys chosen out of order, with shared ones and a decode error among them.
    const [shared, sharedToo] = [key('0a'), key('9b')];
    const keys = [key('f0'), shared, sharedToo, shared, key('c4'), sharedToo, shared];
    const made: ImageFileRow[] = [];
    for (const [i, blobKey] of keys.entries()) {
      const image = await insertImage(
        t.store,
        imageRow(i % 2 ? bob.id : alice.id, T0 + i, {
          blob_key: blobKey,
          byte_size: 100 + i,
          type: i % 3 ? 'png' : 'jpg',
        }),
      );
      made.push({
        seq: image.seq,
        image_id: image.image_id,
        user_id: image.user_id,
        blob_key: blobKey,
        byte_size: 100 + i,
        type: image.type,
        decode_error: null,
      });
    }
    await t.store.images.recordDecodeError(keys[4] as string, 'truncated');
    (made[4] as ImageFileRow).decode_error = 'truncated';
    const expected = [...made].sort((a, b) =>
      a.blob_key === b.blob_key ? a.seq - b.seq : a.blob_key < b.blob_key ? -1 : 1,
    );
    const walked: ImageFileRow[] = [];
    let after: { blobKey: string; seq: number } | undefined;
    for (;;) {
      const page = await t.store.integrity.imageFiles(after, 2);
      if (page.length === 0) break;
      expect(page.length).toBeLessThanOrEqual(2);
      walked.push(...page);
      const last = page[page.length - 1] as ImageFileRow;
      after = { blobKey: last.blob_key, seq: last.seq };
    }
    expect(walked).toEqual(expected);
    expect(typeof walked[0]?.seq).toBe('number');
    expect(typeof walked[0]?.byte_size).toBe('number');
  });

  it('names the images using a blob, oldest first, with their owners', async () => {
    const alice = await createUser(t.store, 'alice');
    const bob = await createUser(t.store, 'bob');
    const shared = key('aa');
    const a = await insertImage(t.store, imageRow(alice.id, T0 + 9, { blob_key: shared }));
    const b = await insertImage(t.store, imageRow(bob.id, T0, { blob_key: shared }));
    await insertImage(t.store, imageRow(alice.id, T0));
    expect(await t.store.integrity.imagesUsingBlob(shared)).toEqual([
      { image_id: a.image_id, user_id: alice.id },
      { image_id: b.image_id, user_id: bob.id },
    ]);
    expect(await t.store.integrity.imagesUsingBlob(key('bb'))).toEqual([]);
  });

  it('names the blobs queued jobs will collect or make thumbnails of, leaving out jobs given up on', async () => {
    const alice = await createUser(t.store, 'alice');
    const gone = await insertImage(t.store, imageRow(alice.id, T0));
    await t.store.images.delete(gone.image_id, alice.id);
    const [thumbA, thumbB] = [key('1a'), key('1b')];
    await t.store.jobs.enqueueMany([
      { kind: THUMBNAIL_JOB, payload: { blobKey: thumbA } },
      { kind: THUMBNAIL_JOB, payload: { blobKey: thumbB } },
      { kind: 'ocr.read', payload: { imageId: 'x' } },
    ]);
    expect(await t.store.integrity.blobKeysAwaitingCollection()).toEqual([gone.blob_key]);
    expect((await t.store.integrity.blobKeysAwaitingThumbnail()).sort()).toEqual([thumbA, thumbB].sort());
    // A thumbnail given up on is not awaited any more: fsck reports the missing file instead.
    const [claimed] = await t.store.jobs.claim([THUMBNAIL_JOB], 1, Date.now(), 60_000);
    if (!claimed) throw new Error('no thumbnail job to claim');
    expect(await t.store.jobs.fail(claimed.id, claimed.lease_owner, 'bad', null, Date.now())).toBe(true);
    const failedKey = (JSON.parse(claimed.payload) as { blobKey: string }).blobKey;
    expect(await t.store.integrity.blobKeysAwaitingThumbnail()).toEqual(
      [thumbA, thumbB].filter((k) => k !== failedKey),
    );
    // A job leased right now still awaits its work.
    const [running] = await t.store.jobs.claim([BLOB_GC_JOB], 1, Date.now(), 60_000);
    expect(running).toBeDefined();
    expect(await t.store.integrity.blobKeysAwaitingCollection()).toEqual([gone.blob_key]);
  });
});
