import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * An upload's bytes on local disk while they are checked: written as they arrive, hashed on
 * the way. `BlobStore.putFile` takes the file over; `discard()` removes whatever is left and
 * is always safe to call.
 */
export interface StagedFile {
  path: string;
  size: number;
  /** SHA-256 of the bytes, hex. */
  sha256: string;
  /**
   * The same bytes in memory, for a small file (see KEEP_IN_MEMORY_BYTES): checks need not read
   * it back. Valid until `discard()`, which gives the memory to the next upload.
   */
  bytes?: Buffer;
  discard(): Promise<void>;
}

/**
 * Uploads up to this size are also copied into memory as they arrive, so that the header,
 * structure and metadata checks read no file: most screenshots are under 1 MB. Larger ones are
 * only ever read back through a small window.
 */
export const KEEP_IN_MEMORY_BYTES = 4 * 1024 * 1024;

/**
 * The buffers those copies go into, reused from upload to upload: a fresh buffer per upload is
 * memory outside V8's heap that grows by the upload's size each time, and V8 answers that with a
 * full garbage collection every few hundred uploads (measured: eight times as many as without).
 * At most `MAX_FREE` are kept (32 MB, of which only what uploads have filled is resident).
 */
class CopyBuffers {
  private static readonly MAX_FREE = 8;
  private readonly free: Buffer[] = [];

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(KEEP_IN_MEMORY_BYTES);
  }

  give(buffer: Buffer): void {
    if (this.free.length < CopyBuffers.MAX_FREE) this.free.push(buffer);
  }
}

const copyBuffers = new CopyBuffers();

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
 * `maxBytes`; with `keepCopy`, a small file's bytes are kept in memory too (`bytes`). On any
 * failure the partial file is removed before the error is thrown.
 */
export async function writeStagedFile(
  source: Readable,
  target: string,
  maxBytes: number,
  options: { keepCopy?: boolean } = {},
): Promise<StagedFile> {
  const hash = createHash('sha256');
  let size = 0;
  let copy: Buffer | undefined = options.keepCopy ? copyBuffers.take() : undefined;
  const dropCopy = () => {
    if (copy) copyBuffers.give(copy);
    copy = undefined;
  };
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (copy && size + chunk.length <= KEEP_IN_MEMORY_BYTES) chunk.copy(copy, size);
      else dropCopy();
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
    dropCopy();
    await discardFile(target);
    throw isDiskFull(err) ? new DiskFullError() : err;
  }
  return {
    path: target,
    size,
    sha256: hash.digest('hex'),
    bytes: copy?.subarray(0, size),
    discard: () => {
      // The copy goes back for the next upload: nothing may read `bytes` after this.
      dropCopy();
      return discardFile(target);
    },
  };
}
