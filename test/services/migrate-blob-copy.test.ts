import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { beforeEach, expect, it } from 'vitest';
import { originalKey } from '../../src/blobs/blob-store.ts';
import { LocalBlobStore } from '../../src/blobs/local-blob-store.ts';
import { ServiceError } from '../../src/services/errors.ts';
import { copyBlob } from '../../src/services/migrate-data.service.ts';
import { makeDataDir } from '../helpers/server.ts';

/**
 * A target as an interrupted run leaves it on a store that is not atomic (s3rver, a torn
 * network read): its first `torn` reads of the key fail half-way, its first `garbled` writes
 * store other bytes than were sent (a writer of the killed run still flushing).
 */
class UnsteadyTarget extends LocalBlobStore {
  constructor(
    root: string,
    private torn: number,
    private garbled: number,
  ) {
    super(root);
  }
  override async stream(key: string) {
    if (this.torn-- <= 0) return super.stream(key);
    return new Readable({
      read() {
        this.push(Buffer.from('half an object'));
        this.destroy(new Error('aborted'));
      },
    });
  }
  override async putStream(key: string, source: Readable) {
    if (this.garbled-- <= 0) return super.putStream(key, source);
    source.destroy();
    return super.put(key, Buffer.from('bytes of another write'));
  }
}

let source: LocalBlobStore;
let targetDir: string;
const bytes = randomBytes(5000);
const hash = createHash('sha256').update(bytes).digest('hex');
const key = originalKey(hash);

beforeEach(async () => {
  const dir = await makeDataDir();
  source = new LocalBlobStore(path.join(dir, 'blobs'));
  await source.put(key, bytes);
  targetDir = path.join(dir, 'target');
  await fs.mkdir(targetDir);
});

const storedBytes = async (root: string) => new LocalBlobStore(root).read(key);

it('copies again an object an interrupted run left that does not read back whole', async () => {
  const target = new UnsteadyTarget(targetDir, 1, 0);
  await new LocalBlobStore(targetDir).put(key, bytes.subarray(0, 100));
  expect(await copyBlob(source, target, key, hash)).toBe('copied');
  expect(await storedBytes(targetDir)).toEqual(bytes);
});

it('writes once more a copy that reads back as other bytes, and then has it right', async () => {
  const target = new UnsteadyTarget(targetDir, 0, 1);
  expect(await copyBlob(source, target, key, hash)).toBe('copied');
  expect(await storedBytes(targetDir)).toEqual(bytes);
});

it('stops with a clear error naming the key when the target keeps storing other bytes', async () => {
  const target = new UnsteadyTarget(targetDir, 0, 3);
  const failed = copyBlob(source, target, key, hash);
  await expect(failed).rejects.toBeInstanceOf(ServiceError);
  await expect(failed).rejects.toThrow(
    new RegExp(`${key} reads back from the target with SHA-256 [0-9a-f]{64}, not ${hash}`),
  );
});

it('verifies, without writing, an object that reads back whole', async () => {
  await new LocalBlobStore(targetDir).put(key, bytes);
  const target = new UnsteadyTarget(targetDir, 0, 1);
  expect(await copyBlob(source, target, key, hash)).toBe('verified');
  expect(await storedBytes(targetDir)).toEqual(bytes);
});
