import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import { type Readable, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';

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
  /**
   * Resolves once the file at `path` holds every byte, and is on disk too when `synced`: read
   * `path` only after it. A small file is written behind the caller's back, while the upload is
   * checked from `bytes`.
   */
  written(): Promise<void>;
  /** Whether `written()` also fsyncs the file (staged with `sync`): then it need not be synced again. */
  synced: boolean;
  /** Removes the file (once its write is over) and lets the copy go; safe to call again. */
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

/**
 * Removes a file, gone already or not. unlink, not rm: on the upload path the staged file has
 * usually been renamed into place already, and Node's rm checks its options with an lstat on
 * the event loop first (7 % of the main thread at 8 clients uploading).
 */
export async function discardFile(file: string): Promise<void> {
  try {
    await fs.promises.unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Writes `source` to the new file `target` (mode 0600), hashing it, refusing more than
 * `maxBytes`. With `keepCopy`, a small file's bytes are kept in memory too (`bytes`), and
 * written to the file in one write once they have all arrived: in the background, so that
 * the upload's checks (which read `bytes`) and that write, and with `sync` its fsync, overlap.
 * On a failure while the bytes arrive the partial file is removed before the error is thrown;
 * a failure of the background write is thrown by `written()`.
 */
export async function writeStagedFile(
  source: Readable,
  target: string,
  maxBytes: number,
  options: { keepCopy?: boolean; sync?: boolean } = {},
): Promise<StagedFile> {
  const sink = new StagingSink(target, maxBytes, options.keepCopy ? copyBuffers.take() : undefined);
  try {
    await pipeline(source, sink);
  } catch (err) {
    sink.dropCopy();
    await discardFile(target);
    throw isDiskFull(err) ? new DiskFullError() : err;
  }
  const { size } = sink;
  const bytes = sink.copy?.subarray(0, size);
  // Streamed to disk already (a large file): the blob store syncs it when it takes it.
  const background = bytes ? writeWhole(target, bytes, options.sync === true) : undefined;
  const bytesInFile = background?.written ?? Promise.resolve();
  const writeDone = settled(background?.synced ?? Promise.resolve());
  let discarded: Promise<void> | undefined;
  return {
    path: target,
    size,
    sha256: sink.hash.digest('hex'),
    bytes,
    written: async () => {
      const { error } = await writeDone;
      if (error) throw isDiskFull(error) ? new DiskFullError() : error;
    },
    synced: bytes !== undefined && options.sync === true,
    discard: () => {
      // Once the bytes are in the file it may go; its fsync, if still running, is of no matter.
      discarded ??= bytesInFile.then(() => {
        // The copy goes back for the next upload: nothing may read `bytes` after this.
        sink.dropCopy();
        return discardFile(target);
      });
      return discarded;
    },
  };
}

/**
 * A new file holding `bytes`, fsynced with `sync`: one open for the write and the fsync.
 * `written` resolves once the bytes are in the file or the attempt failed (it never rejects);
 * `synced` once the file is also on disk and closed, or with the failure.
 */
function writeWhole(target: string, bytes: Buffer, sync: boolean) {
  let wrote: () => void = () => undefined;
  const written = new Promise<void>((resolve) => {
    wrote = resolve;
  });
  const synced = (async () => {
    const handle = await fs.promises.open(target, 'wx', 0o600);
    try {
      await handle.writeFile(bytes);
      wrote();
      if (sync) await handle.sync();
    } finally {
      await handle.close();
    }
  })();
  synced.then(wrote, wrote);
  return { written, synced };
}

/** A promise that never rejects (a background write nobody may wait for must not go unhandled). */
const settled = (work: Promise<void>): Promise<{ error?: unknown }> =>
  work.then(
    () => ({}),
    (error: unknown) => ({ error }),
  );

/**
 * Counts, hashes and keeps the bytes. While they fit the copy, nothing is written: each write
 * to a file stream is a round trip through libuv's pool and a good share of the event loop's
 * time at 8 uploads at once, and a screenshot's 5 or so become one. Past the copy's size, the
 * file is opened, what was kept written first, and the rest streamed.
 */
class StagingSink extends Writable {
  readonly hash = createHash('sha256');
  size = 0;
  private file: fs.WriteStream | undefined;

  constructor(
    private readonly target: string,
    private readonly maxBytes: number,
    public copy: Buffer | undefined,
  ) {
    super();
  }

  dropCopy(): void {
    if (this.copy) copyBuffers.give(this.copy);
    this.copy = undefined;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    const at = this.size;
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      done(new StagedTooLargeError(this.maxBytes));
      return;
    }
    this.hash.update(chunk);
    if (this.copy && this.size <= KEEP_IN_MEMORY_BYTES) {
      chunk.copy(this.copy, at);
      done();
      return;
    }
    if (!this.file) {
      this.file = fs.createWriteStream(this.target, { flags: 'wx', mode: 0o600 });
      const kept = this.copy;
      if (kept) {
        this.copy = undefined;
        // The copy is reused by the next upload once its bytes are in the file.
        this.file.write(kept.subarray(0, at), () => copyBuffers.give(kept));
      }
    }
    this.file.write(chunk, (err) => done(err));
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.file) {
      this.file.end();
      finished(this.file).then(() => done(), done);
      return;
    }
    if (this.copy) {
      // Every byte is in the copy: writeStagedFile writes the file in the background.
      done();
      return;
    }
    fs.promises.writeFile(this.target, Buffer.alloc(0), { flag: 'wx', mode: 0o600 }).then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    // A file stream destroyed before its file was open still opens (creates) it: wait for it to
    // close, or the file would appear after it was removed.
    const file = this.file;
    if (!file || file.closed) {
      done(err);
      return;
    }
    file.destroy();
    once(file, 'close').then(
      () => done(err),
      () => done(err),
    );
  }
}
