import { createHash } from 'node:crypto';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { type ImageBytes, readFully } from './file-bytes.ts';

/**
 * What a format parser says about each byte range of its input, in order: keep it, drop it, or
 * put new bytes here. The same parser runs against a detector (did anything change?) and then,
 * only if something did, against a writer, so no plan of the file is ever held in memory.
 */
export interface Edits {
  keep(start: number, end: number): Promise<void>;
  drop(start: number, end: number): Promise<void>;
  insert(bytes: Buffer): Promise<void>;
}

/** Replaces a range with `bytes`, or keeps it when they are the same bytes already. */
export async function replace(src: ImageBytes, edits: Edits, start: number, end: number, bytes: Buffer) {
  // Only a range as long as the (small) replacement is read: an oversized one is never in memory.
  if (end - start === bytes.length && (await src.bytes(start, end - start)).equals(bytes)) {
    return edits.keep(start, end);
  }
  await edits.drop(start, end);
  await edits.insert(bytes);
}

export class ChangeDetector implements Edits {
  changed = false;
  async keep(): Promise<void> {}
  async drop(start: number, end: number): Promise<void> {
    if (end > start) this.changed = true;
  }
  async insert(bytes: Buffer): Promise<void> {
    if (bytes.length > 0) this.changed = true;
  }
}

const COPY_CHUNK = 256 * 1024;

/**
 * Writes the edited file, hashing as it goes. Adjacent kept ranges are copied as one; copies go
 * through one fixed buffer. No fsync: the blob store that takes the file makes it durable.
 */
export class EditWriter implements Edits {
  private readonly hash = createHash('sha256');
  private readonly buffer = Buffer.alloc(COPY_CHUNK);
  private written = 0;
  private pendingStart = 0;
  private pendingEnd = 0;

  private constructor(
    private readonly source: FileHandle,
    private readonly out: FileHandle,
    private readonly outPath: string,
  ) {}

  static async create(source: FileHandle, outPath: string): Promise<EditWriter> {
    return new EditWriter(source, await open(outPath, 'w', 0o600), outPath);
  }

  async keep(start: number, end: number): Promise<void> {
    if (end <= start) return;
    if (start === this.pendingEnd && this.pendingEnd > this.pendingStart) {
      this.pendingEnd = end;
      return;
    }
    await this.flush();
    this.pendingStart = start;
    this.pendingEnd = end;
  }

  async drop(): Promise<void> {}

  async insert(bytes: Buffer): Promise<void> {
    await this.flush();
    await this.write(bytes);
  }

  async finish(): Promise<{ sha256: string; size: number }> {
    await this.flush();
    await this.out.close();
    return { sha256: this.hash.digest('hex'), size: this.written };
  }

  /** Closes and removes the partial output. */
  async abort(): Promise<void> {
    await this.out.close().catch(() => undefined);
    await rm(this.outPath, { force: true });
  }

  private async flush(): Promise<void> {
    let position = this.pendingStart;
    while (position < this.pendingEnd) {
      const chunk = this.buffer.subarray(0, Math.min(COPY_CHUNK, this.pendingEnd - position));
      await readFully(this.source, chunk, position);
      await this.write(chunk);
      position += chunk.length;
    }
    this.pendingStart = this.pendingEnd = 0;
  }

  private async write(bytes: Buffer): Promise<void> {
    this.hash.update(bytes);
    this.written += bytes.length;
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.out.write(bytes, done, bytes.length - done);
      done += bytesWritten;
    }
  }
}
