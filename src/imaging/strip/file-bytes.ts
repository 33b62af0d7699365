import { type FileHandle, open } from 'node:fs/promises';
import { type ImageInput, ImagingError } from '../imaging.ts';

/** Bytes the parsers look at most are headers; a small window keeps the reads few and the memory flat. */
const WINDOW = 64 * 1024;

export const corrupt = () => new ImagingError('corrupt', 'Image is truncated or corrupt');

/** Reads `buffer.length` bytes at `position`, or fails when the file ends first. */
export async function readFully(file: FileHandle, buffer: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buffer.length) {
    const { bytesRead } = await file.read(buffer, done, buffer.length - done, position + done);
    if (bytesRead === 0) throw corrupt();
    done += bytesRead;
  }
}

/** What the format parsers read through: a file by window, or bytes already in memory. */
export interface ImageBytes {
  readonly size: number;
  /** A copy of `length` bytes at `position`. */
  bytes(position: number, length: number): Promise<Buffer>;
  /** The buffered bytes from `position` on (at least one): valid only until the next call. */
  from(position: number): Promise<Buffer>;
}

/** An upload small enough to have been kept in memory as it arrived: no reads at all. */
export class BufferBytes implements ImageBytes {
  readonly size: number;

  constructor(private readonly buffer: Buffer) {
    this.size = buffer.length;
  }

  async bytes(position: number, length: number): Promise<Buffer> {
    if (position < 0 || length < 0 || position + length > this.size) throw corrupt();
    return Buffer.from(this.buffer.subarray(position, position + length));
  }

  async from(position: number): Promise<Buffer> {
    if (position < 0 || position >= this.size) throw corrupt();
    return this.buffer.subarray(position);
  }
}

/**
 * Positional reads of one file through a window: the parsers walk headers and skip payloads,
 * so a 50 MB image is never in memory. Reading past the end is corruption, never a short read.
 */
export class FileBytes implements ImageBytes {
  private readonly window = Buffer.alloc(WINDOW);
  private windowStart = 0;
  private windowLength = 0;

  constructor(
    private readonly file: FileHandle,
    readonly size: number,
  ) {}

  /** A copy of `length` bytes at `position`. */
  async bytes(position: number, length: number): Promise<Buffer> {
    if (position < 0 || length < 0 || position + length > this.size) throw corrupt();
    if (length > WINDOW) {
      const out = Buffer.alloc(length);
      await readFully(this.file, out, position);
      return out;
    }
    if (!this.holds(position, length)) await this.load(position);
    const at = position - this.windowStart;
    return Buffer.from(this.window.subarray(at, at + length));
  }

  /** The buffered bytes from `position` on (at least one): valid only until the next call. */
  async from(position: number): Promise<Buffer> {
    if (position < 0 || position >= this.size) throw corrupt();
    if (!this.holds(position, 1)) await this.load(position);
    return this.window.subarray(position - this.windowStart, this.windowLength);
  }

  private holds(position: number, length: number): boolean {
    return position >= this.windowStart && position + length <= this.windowStart + this.windowLength;
  }

  private async load(position: number): Promise<void> {
    const length = Math.min(WINDOW, this.size - position);
    await readFully(this.file, this.window.subarray(0, length), position);
    this.windowStart = position;
    this.windowLength = length;
  }
}

/** Runs `use` on an image's bytes: in memory as they are, or a file's, by window. */
export async function withImageBytes<T>(
  input: ImageInput,
  use: (bytes: ImageBytes) => Promise<T>,
): Promise<T> {
  if (typeof input !== 'string') return use(new BufferBytes(input));
  const handle = await open(input, 'r');
  try {
    return await use(new FileBytes(handle, (await handle.stat()).size));
  } finally {
    await handle.close();
  }
}
