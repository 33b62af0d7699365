import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDataDir } from '../src/services/backup.service.ts';
import { solidJpeg, solidPng } from './helpers/images.ts';
import { form, makeDataDir, startServer, type TestServer } from './helpers/server.ts';

describe('backup of a live data dir', () => {
  let live: TestServer;
  let restored: TestServer | undefined;
  let dest: string;

  beforeAll(async () => {
    live = await startServer();
    dest = await makeDataDir();
  });
  afterAll(async () => {
    await restored?.close();
    await live.close();
    await fs.rm(dest, { recursive: true, force: true });
  });

  it('is a data dir that serves the same images, byte for byte', async () => {
    const { token } = await live.user('backed');
    const originals = [await solidPng(40, 30), await solidJpeg(20, 10)];
    const ids: string[] = [];
    for (const data of originals) {
      const res = await fetch(`${live.url}/api/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form({ imagedata: { data } }),
      });
      ids.push((await res.json()).image_id);
    }

    const first = await backupDataDir(live.rt.store, live.rt.blobs, live.config.thumbSize, dest);
    expect(first).toEqual({ images: 2, blobsCopied: 4 });
    // A second run copies only what is new.
    expect(await backupDataDir(live.rt.store, live.rt.blobs, live.config.thumbSize, dest)).toEqual({
      images: 2,
      blobsCopied: 0,
    });

    restored = await startServer({}, dest);
    const list = await fetch(`${restored.url}/api/images?access_token=${token}`);
    expect(list.headers.get('x-total-count')).toBe('2');
    for (const [i, id] of ids.entries()) {
      const type = i === 0 ? 'png' : 'jpg';
      const raw = await fetch(`${restored.url}/${id}.${type}`);
      expect(Buffer.from(await raw.arrayBuffer()).equals(originals[i] as Buffer)).toBe(true);
    }
  });
});
