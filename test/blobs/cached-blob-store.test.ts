import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CachedBlobStore } from '../../src/blobs/cached-blob-store.ts';
import { LocalBlobStore } from '../../src/blobs/local-blob-store.ts';
import { makeDataDir } from '../helpers/server.ts';

describe('CachedBlobStore', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
  });

  const storeOf = async (budget: number, maxEntry?: number) => {
    const dir = await makeDataDir();
    dirs.push(dir);
    const folder = new LocalBlobStore(path.join(dir, 'blobs'));
    const reads = vi.spyOn(folder, 'read');
    return { cache: new CachedBlobStore(folder, budget, maxEntry), folder, reads };
  };
  const blob = (n: number, bytes: number) => Buffer.alloc(bytes, n);
  /** A blob key as the stores take them: a content hash under orig/. */
  const keyOf = (name: string) => `orig/${createHash('sha256').update(name).digest('hex')}`;

  it('reads a blob from the store once, then from memory, dropping the least recently read past its budget', async () => {
    const { cache, folder, reads } = await storeOf(1000, 500);
    for (let i = 0; i < 5; i++) await folder.put(keyOf(`k${i}`), blob(i, 300));
    for (const k of [keyOf('k0'), keyOf('k1'), keyOf('k2')]) await cache.read(k);
    expect(await cache.read(keyOf('k0'))).toEqual(blob(0, 300)); // from memory, now the most recent
    expect(reads).toHaveBeenCalledTimes(3);
    await cache.read(keyOf('k3')); // 1,200 bytes: k1, the least recently read, goes
    expect(reads).toHaveBeenCalledTimes(4);
    reads.mockClear();
    for (const k of [keyOf('k0'), keyOf('k2'), keyOf('k3')]) await cache.read(k);
    expect(reads).not.toHaveBeenCalled();
    expect(await cache.read(keyOf('k1'))).toEqual(blob(1, 300));
    expect(reads).toHaveBeenCalledTimes(1);
  });

  it('never keeps a blob over its largest entry, and forgets a deleted blob', async () => {
    const { cache, folder, reads } = await storeOf(1000, 500);
    await folder.put(keyOf('big'), blob(1, 501));
    await folder.put(keyOf('small'), blob(2, 100));
    await cache.read(keyOf('big'));
    await cache.read(keyOf('big'));
    expect(reads).toHaveBeenCalledTimes(2);
    await cache.read(keyOf('small'));
    await cache.delete(keyOf('small'));
    expect(await cache.exists(keyOf('small'))).toBe(false);
    expect(await cache.read(keyOf('small'))).toBeUndefined();
    expect(cache.peek(keyOf('small'))).toBeUndefined();
  });

  it('keeps nothing with a budget of 0 (commands that read each blob once)', async () => {
    const { cache, folder, reads } = await storeOf(0);
    await folder.put(keyOf('a'), blob(1, 10));
    expect(await cache.read(keyOf('a'))).toEqual(blob(1, 10));
    expect(await cache.read(keyOf('a'))).toEqual(blob(1, 10));
    expect(reads).toHaveBeenCalledTimes(2);
    expect(cache.peek(keyOf('a'))).toBeUndefined();
  });
});
