import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backupDataDir } from '../../src/services/backup.service.ts';
import { DataDirCheck, type Problem } from '../../src/services/fsck.service.ts';
import { uploadOk } from '../helpers/api.ts';
import { solidPng, undecodablePng } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/** What fsck and backup make of thumbnails made after the upload has answered. */
describe('background thumbnails, as fsck, backup and the thumbnail URL see them', () => {
  let server: TestServer;
  let token: string;
  beforeEach(async () => {
    server = await startServer();
    token = (await server.user()).token;
  });
  afterEach(() => server.close());

  const fsck = async () => {
    const { store, blobs, collector, config } = server.rt;
    const problems: Problem[] = [];
    const check = new DataDirCheck(store, blobs, collector, {
      thumbSize: config.thumbSize,
      maxPixels: config.limits.maxPixels,
    });
    await check.run({ repair: false }, (p) => problems.push(p));
    return problems;
  };

  it('an upload whose pixels do not decode is served, with a placeholder thumbnail, and fsck names it', async () => {
    const image = await uploadOk(server, token, await undecodablePng());
    await server.settle();
    const thumb = await fetch(image.thumb_url);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/png');
    expect((await fetch(image.url)).status).toBe(200);
    expect(await fsck()).toEqual([
      expect.objectContaining({
        kind: 'undecodable image',
        imageId: image.image_id,
        detail: 'Image is truncated or corrupt',
      }),
    ]);
  });

  it('a thumbnail whose job is still queued is missing to neither fsck nor backup', async () => {
    await server.rt.worker.stop();
    await uploadOk(server, token, await solidPng(300, 200));
    expect(await server.rt.store.jobs.countPending()).toBe(1);
    expect(await fsck()).toEqual([]);
    const dest = await fs.mkdtemp(path.join(os.tmpdir(), 'gazo-backup-'));
    try {
      const result = await backupDataDir(
        {
          store: server.rt.store,
          blobs: server.rt.blobs,
          thumbSize: server.rt.config.thumbSize,
          dataDir: server.dataDir,
        },
        dest,
      );
      expect(result.missing).toEqual([]);
    } finally {
      await fs.rm(dest, { recursive: true, force: true });
    }
  });
});
