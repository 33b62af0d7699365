import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEEP_IN_MEMORY_BYTES, StagedTooLargeError, writeStagedFile } from '../../src/blobs/staged-file.ts';
import { makeDataDir } from '../helpers/server.ts';

describe('writeStagedFile', () => {
  let dir: string;
  let n = 0;
  beforeAll(async () => {
    dir = await makeDataDir();
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  const chunksOf = (bytes: Buffer, size = 64 * 1024) =>
    Readable.from(
      Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) =>
        bytes.subarray(i * size, (i + 1) * size),
      ),
    );
  const stage = (bytes: Buffer, max = 64 * 1024 * 1024) =>
    writeStagedFile(chunksOf(bytes), path.join(dir, `${++n}`), max, { keepCopy: true });

  it('writes and hashes the bytes, and keeps a small upload in memory too: the same bytes', async () => {
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251));
    const staged = await stage(bytes);
    await staged.written();
    expect(await fs.readFile(staged.path)).toEqual(bytes);
    expect(staged.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(staged.size).toBe(bytes.length);
    expect(staged.bytes).toEqual(bytes);
  });

  it('keeps nothing in memory past the limit: the file alone holds the bytes', async () => {
    const atLimit = await stage(Buffer.alloc(KEEP_IN_MEMORY_BYTES, 1));
    expect(atLimit.bytes?.length).toBe(KEEP_IN_MEMORY_BYTES);
    const over = await stage(Buffer.alloc(KEEP_IN_MEMORY_BYTES + 1, 2));
    expect(over.bytes).toBeUndefined();
    await over.written();
    expect((await fs.stat(over.path)).size).toBe(KEEP_IN_MEMORY_BYTES + 1);
  });

  it('refuses more than the maximum and leaves no file, whether it was in memory or streaming to disk', async () => {
    const before = await fs.readdir(dir);
    await expect(stage(Buffer.alloc(1000), 999)).rejects.toBeInstanceOf(StagedTooLargeError);
    expect(await fs.readdir(dir)).toEqual(before);
    const large = KEEP_IN_MEMORY_BYTES + 200_000;
    await expect(stage(Buffer.alloc(large), large - 1)).rejects.toBeInstanceOf(StagedTooLargeError);
    expect(await fs.readdir(dir)).toEqual(before);
  });

  it('writes a file larger than the copy whole: what was kept first, then the rest', async () => {
    const bytes = Buffer.from(
      Array.from({ length: KEEP_IN_MEMORY_BYTES + 123_457 }, (_, i) => (i * 13) % 253),
    );
    const staged = await stage(bytes);
    await staged.written();
    expect((await fs.readFile(staged.path)).equals(bytes)).toBe(true);
    expect(staged.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    // The copy it gave back serves the next upload, unharmed by the file's writes.
    const next = Buffer.alloc(100_000, 9);
    expect((await stage(next)).bytes).toEqual(next);
  });

  it('writes a small upload in the background, and a discard waits for that write: no file is left behind', async () => {
    const bytes = Buffer.alloc(200_000, 5);
    const sub = path.join(dir, 'background');
    await fs.mkdir(sub);
    const staged = await writeStagedFile(chunksOf(bytes), path.join(sub, 'a'), 1e9, {
      keepCopy: true,
      sync: true,
    });
    expect(staged.synced).toBe(true);
    // Discarded at once, before anyone waited for the write: the discard waits for the bytes
    // to be in (or the file could be created after its unlink); the file must not appear after.
    await staged.discard();
    await staged.discard();
    await staged.written();
    await sleep(50);
    expect(await fs.readdir(sub)).toEqual([]);
  });

  it('throws a failed background write from written(), never as an unhandled rejection', async () => {
    const staged = await writeStagedFile(chunksOf(Buffer.alloc(1000, 1)), path.join(dir, 'gone', 'b'), 1e9, {
      keepCopy: true,
    });
    await expect(staged.written()).rejects.toMatchObject({ code: 'ENOENT' });
    await staged.discard();
  });

  it('says a file streamed to disk is not synced yet: the blob store syncs it', async () => {
    const large = await writeStagedFile(
      chunksOf(Buffer.alloc(KEEP_IN_MEMORY_BYTES + 10, 3)),
      path.join(dir, `${++n}`),
      1e9,
      { keepCopy: true, sync: true },
    );
    expect(large.synced).toBe(false);
    await large.written();
    expect((await fs.stat(large.path)).size).toBe(KEEP_IN_MEMORY_BYTES + 10);
    await large.discard();
  });
});
