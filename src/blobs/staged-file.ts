import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * An upload's bytes on local disk while they are checked: written as they arrive, hashed on
 * the way, never held whole in memory. `BlobStore.putFile` takes the file over; `discard()`
 * removes whatever is left and is always safe to call.
 */
export interface StagedFile {
  path: string;
  size: number;
  /** SHA-256 of the bytes, hex. */
  sha256: string;
  discard(): Promise<void>;
}

/** The disk (or quota) is full: the caller answers 507 and keeps nothing. */
export class DiskFullError extends Error {
  constructor() {
    super('The server has no room left to store this image');
  }
}

/** The stream carried more than the caller allowed. */
export class StagedTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`larger than ${limit} bytes`);
  }
}

export const isDiskFull = (err: unknown) => {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL';
};

export const discardFile = (file: string) => fs.promises.rm(file, { force: true });

/**
 * Writes `source` to the new file `target` (mode 0600), hashing it, refusing more than
 * `maxBytes`. On any failure the partial file is removed before the error is thrown.
 */
export async function writeStagedFile(
  source: Readable,
  target: string,
  maxBytes: number,
): Promise<StagedFile> {
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > maxBytes) return done(new StagedTooLargeError(maxBytes));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const sink = fs.createWriteStream(target, { flags: 'wx', mode: 0o600 });
  try {
    await pipeline(source, meter, sink);
  } catch (err) {
    // A sink destroyed before its file was open still opens (creates) it: wait for it to close,
    // or the file would appear after it was removed.
    if (!sink.closed) await once(sink, 'close').catch(() => undefined);
    await discardFile(target);
    throw isDiskFull(err) ? new DiskFullError() : err;
  }
  return { path: target, size, sha256: hash.digest('hex'), discard: () => discardFile(target) };
}
