import fs from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BLOB_GC_JOB, OCR_JOB, THUMBNAIL_JOB } from '../../src/store/images.repository.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import type { NewImageRow } from '../../src/store/schema.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { imageRow } from '../helpers/rows.ts';
import { makeDataDir } from '../helpers/server.ts';

/** Deleting an image cancels the work queued for it: its own jobs, and its blob's when unused. */
describe('deleting an image cancels its jobs', () => {
  let dir: string;
  let store: MetadataStore;
  let userId: number;
  beforeEach(async () => {
    dir = await makeDataDir();
    store = await openSqliteStore(dir);
    userId = (await store.users.create({ uid: 'u', name: 'u', email: null, passwordHash: null })).id;
  });
  afterEach(async () => {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** Inserts the image as an upload does: with its thumbnail and OCR jobs in the same transaction. */
  const upload = async (row: NewImageRow) =>
    store.images.insert(row, await store.blobLedger.addPending(row.blob_key, Date.now()), [
      { kind: THUMBNAIL_JOB, payload: { blobKey: row.blob_key } },
      { kind: OCR_JOB, payload: { imageId: row.image_id } },
    ]);
  const queued = async () => {
    const all = await store.jobs.claim([BLOB_GC_JOB, THUMBNAIL_JOB, OCR_JOB], 100, Date.now(), 1);
    await store.jobs.releaseLeases();
    return all.map((j) => `${j.kind} ${j.payload}`).sort();
  };

  it('cancels the image’s OCR job, and its blob’s thumbnail job once no image uses the blob', async () => {
    const a = await upload(imageRow(userId, 1));
    const b = await upload(imageRow(userId, 2, { blob_key: a.blob_key })); // same bytes
    const c = await upload(imageRow(userId, 3));
    const thumb = (key: string) => `${THUMBNAIL_JOB} {"blobKey":"${key}"}`;
    const ocr = (id: string) => `${OCR_JOB} {"imageId":"${id}"}`;
    const collect = (key: string) => `${BLOB_GC_JOB} {"blobKey":"${key}"}`;

    await store.images.delete(a.image_id, userId);
    // b still uses the blob: its thumbnail is still to be made.
    expect(await queued()).toEqual(
      [thumb(a.blob_key), thumb(a.blob_key), ocr(b.image_id), thumb(c.blob_key), ocr(c.image_id)].sort(),
    );

    await store.images.delete(b.image_id, userId);
    expect(await queued()).toEqual([collect(a.blob_key), thumb(c.blob_key), ocr(c.image_id)].sort());
  });

  it('a running job of a deleted image can no longer complete, and failed ones go too', async () => {
    const a = await upload(imageRow(userId, 1));
    const [running] = await store.jobs.claim([OCR_JOB], 1, Date.now(), 60_000);
    if (!running) throw new Error('nothing claimed');
    expect(await store.jobs.fail(running.id, running.lease_owner, 'unreadable', null, Date.now())).toBe(true);
    expect(await store.jobs.listFailed(10)).toHaveLength(1);
    const [thumbJob] = await store.jobs.claim([THUMBNAIL_JOB], 1, Date.now(), 60_000);
    if (!thumbJob) throw new Error('nothing claimed');

    await store.images.delete(a.image_id, userId);
    expect(await store.jobs.complete(thumbJob.id, thumbJob.lease_owner)).toBe(false);
    expect(await store.jobs.listFailed(10)).toEqual([]);
    expect(await queued()).toEqual([`${BLOB_GC_JOB} {"blobKey":"${a.blob_key}"}`]);
  });

  it('another user’s delete of the same bytes leaves this user’s jobs alone', async () => {
    const other = (await store.users.create({ uid: 'o', name: 'o', email: null, passwordHash: null })).id;
    const mine = await upload(imageRow(userId, 1));
    const theirs = await upload(imageRow(other, 2, { blob_key: mine.blob_key }));
    expect(await store.images.delete(theirs.image_id, userId)).toBeUndefined(); // not mine to delete
    await store.images.delete(theirs.image_id, other);
    expect(await queued()).toEqual(
      [
        `${THUMBNAIL_JOB} {"blobKey":"${mine.blob_key}"}`,
        `${THUMBNAIL_JOB} {"blobKey":"${mine.blob_key}"}`,
        `${OCR_JOB} {"imageId":"${mine.image_id}"}`,
      ].sort(),
    );
  });
});
