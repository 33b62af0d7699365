import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BlobStore, originalKey, thumbnailKey } from '../../src/blobs/blob-store.ts';
import { DataDirCheck, type Problem } from '../../src/services/fsck.service.ts';
import type { IntegrityRepository, MetadataStore } from '../../src/store/types.ts';
import { uploadOk } from '../helpers/api.ts';
import { solidPng } from '../helpers/images.ts';
import { imageRow } from '../helpers/rows.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * fsck beside uploads in flight: an upload's file exists before its row does. These runs put an
 * upload's steps between fsck's own (after it listed the files, after it read the rows) and
 * check that it never calls such a file unreferenced, let alone removes it.
 */
describe('fsck with an upload in flight', () => {
  let server: TestServer;
  let userId: number;
  let bytes: Buffer;
  let hash: string;

  beforeEach(async () => {
    server = await startServer();
    const user = await server.user();
    userId = user.id;
    await uploadOk(server, user.token, await solidPng(20, 20, '#123456'));
    bytes = await solidPng(21, 21, '#654321');
    hash = createHash('sha256').update(bytes).digest('hex');
  });
  afterEach(() => server.close());

  /** An upload's first steps, as UploadService takes them: pending entry, then both files. */
  async function startUpload(): Promise<number> {
    const pendingId = await server.rt.store.blobLedger.addPending(hash, Date.now());
    await server.rt.blobs.put(originalKey(hash), bytes);
    await server.rt.blobs.put(thumbnailKey(hash, 500), bytes);
    return pendingId;
  }
  const commitUpload = (pendingId: number) =>
    server.rt.store.images.insert(
      imageRow(userId, Date.now(), { blob_key: hash, byte_size: bytes.length, width: 21, height: 21 }),
      pendingId,
    );

  /** Runs fsck --repair, with `afterRows` run once it has read the last page of rows. */
  async function fsck(afterRows: () => Promise<void>): Promise<Problem[]> {
    const { store } = server.rt;
    const integrity: IntegrityRepository = {
      dataDirId: () => store.integrity.dataDirId(),
      imagesUsingBlob: (key) => store.integrity.imagesUsingBlob(key),
      blobKeysAwaitingCollection: () => store.integrity.blobKeysAwaitingCollection(),
      blobKeysAwaitingThumbnail: () => store.integrity.blobKeysAwaitingThumbnail(),
      imageFiles: async (after, limit) => {
        const rows = await store.integrity.imageFiles(after, limit);
        if (rows.length < limit) await afterRows();
        return rows;
      },
    };
    const problems: Problem[] = [];
    const check = new DataDirCheck(
      { ...store, integrity } as MetadataStore,
      server.rt.blobs as BlobStore,
      server.rt.collector,
      {
        thumbSize: 500,
        maxPixels: 1_000_000,
      },
    );
    await check.run({ repair: true }, (p) => problems.push(p));
    return problems;
  }

  it('an upload that commits after fsck has read the rows', async () => {
    const pendingId = await startUpload();
    expect(await fsck(() => commitUpload(pendingId).then(() => undefined))).toEqual([]);
    expect(await server.rt.blobs.exists(originalKey(hash))).toBe(true);
    expect(await server.imageCount()).toBe(2);
  });

  it('an upload still in flight when fsck ends', async () => {
    const pendingId = await startUpload();
    expect(await fsck(async () => undefined)).toEqual([]);
    expect(await server.rt.blobs.exists(originalKey(hash))).toBe(true);
    await commitUpload(pendingId);
  });

  it('a file that is unreferenced indeed is found and removed', async () => {
    const pendingId = await startUpload();
    await server.rt.store.blobLedger.removePending(pendingId);
    const problems = await fsck(async () => undefined);
    expect(problems.map((p) => [p.kind, p.key, p.repaired])).toEqual([
      ['unreferenced file', originalKey(hash), 'removed'],
      ['unreferenced file', thumbnailKey(hash, 500), 'removed'],
    ]);
    expect(await server.rt.blobs.exists(originalKey(hash))).toBe(false);
  });

  it('a stray file where the blob store expects a folder is reported, not a crash', async () => {
    await fs.writeFile(path.join(server.dataDir, 'blobs', 'orig', 'notes.txt'), 'mine');
    const problems = await fsck(async () => undefined);
    expect(problems).toEqual([
      {
        kind: 'cannot list files',
        key: 'blobs/',
        detail: expect.stringMatching(/notes\.txt'; unreferenced files were not checked$/),
      },
    ]);
  });
});
