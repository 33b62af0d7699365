import fs from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { type ImageType, ImagingError } from './imaging.ts';

/**
 * Structural completeness without decoding a pixel: a truncated or garbled upload is refused
 * before anything is stored, in milliseconds, with memory bounded by a read window. The full
 * decode (which still catches damage inside compressed data) happens later, in the thumbnail
 * job. What each format must have:
 * - PNG: every chunk whole with a correct CRC, through IEND;
 * - JPEG: well-formed segments and entropy-coded data through EOI;
 * - GIF: well-formed blocks and sub-blocks through the trailer;
 * - WebP: a RIFF container as long as it says, made of whole chunks.
 * Bytes after the end (some cameras append trailers) are allowed.
 */
export async function checkStructure(file: string, type: ImageType, inMemory?: Buffer): Promise<void> {
  // A small upload's bytes, kept as they arrived, are checked where they are: no reads.
  const reader = inMemory ? WindowReader.over(inMemory) : await WindowReader.open(file);
  try {
    const ok = await CHECKS[type](reader);
    if (!ok) throw corrupt();
  } catch (err) {
    if (err instanceof ImagingError) throw err;
    if (err instanceof PastEnd) throw corrupt();
    throw err;
  } finally {
    await reader.close();
  }
}

const corrupt = () => new ImagingError('corrupt', 'Image is truncated or corrupt');

class PastEnd extends Error {}

const WINDOW = 64 * 1024;

/** Positional reads through one window of the file. */
class WindowReader {
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;

  private constructor(
    private readonly handle: fs.FileHandle | undefined,
    readonly size: number,
  ) {}

  static async open(file: string): Promise<WindowReader> {
    const handle = await fs.open(file, 'r');
    return new WindowReader(handle, (await handle.stat()).size);
  }

  /** The whole file in memory: one window that never moves. */
  static over(bytes: Buffer): WindowReader {
    const reader = new WindowReader(undefined, bytes.length);
    reader.window = bytes;
    return reader;
  }

  close = async () => this.handle?.close();

  /** `length` bytes at `pos` (length ≤ WINDOW); past the end of the file is PastEnd. */
  async bytes(pos: number, length: number): Promise<Buffer> {
    if (pos + length > this.size) throw new PastEnd();
    const end = pos + length;
    if (pos < this.windowStart || end > this.windowStart + this.window.length) {
      if (!this.handle) throw new PastEnd();
      const want = Math.min(Math.max(WINDOW, length), this.size - pos);
      const buffer = Buffer.alloc(want);
      const { bytesRead } = await this.handle.read(buffer, 0, want, pos);
      this.window = buffer.subarray(0, bytesRead);
      this.windowStart = pos;
      if (bytesRead < length) throw new PastEnd();
    }
    return this.window.subarray(pos - this.windowStart, end - this.windowStart);
  }

  byte = async (pos: number) => (await this.bytes(pos, 1))[0] as number;

  /** The CRC-32 of a byte range of any length, read a window at a time. */
  async crcOf(pos: number, length: number, crc = 0): Promise<number> {
    if (!this.handle) return crc32(await this.bytes(pos, length), crc);
    for (let at = pos; at < pos + length; at += WINDOW) {
      crc = crc32(await this.bytes(at, Math.min(WINDOW, pos + length - at)), crc);
    }
    return crc;
  }

  /** The position of the next 0xFF at or after `pos`, or -1. */
  async nextFF(pos: number): Promise<number> {
    for (let at = pos; at < this.size; at += WINDOW) {
      const chunk = await this.bytes(at, Math.min(WINDOW, this.size - at));
      const i = chunk.indexOf(0xff);
      if (i >= 0) return at + i;
    }
    return -1;
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function png(r: WindowReader): Promise<boolean> {
  if (!(await r.bytes(0, 8)).equals(PNG_SIGNATURE)) return false;
  for (let pos = 8; ; ) {
    const head = await r.bytes(pos, 8);
    const length = head.readUInt32BE(0);
    if (length > 0x7fffffff) return false;
    const type = head.toString('latin1', 4, 8);
    const crc = await r.crcOf(pos + 4, 4 + length);
    if ((await r.bytes(pos + 8 + length, 4)).readUInt32BE(0) !== crc) return false;
    if (type === 'IEND') return true;
    pos += 12 + length;
  }
}

async function jpeg(r: WindowReader): Promise<boolean> {
  if ((await r.byte(0)) !== 0xff || (await r.byte(1)) !== 0xd8) return false;
  let pos = 2;
  for (;;) {
    if ((await r.byte(pos)) !== 0xff) return false;
    let marker = await r.byte(pos + 1);
    // Fill bytes: any number of 0xFF may precede a marker.
    while (marker === 0xff) marker = await r.byte(++pos + 1);
    pos += 2;
    if (marker === 0xd9) return true;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue;
    const length = (await r.bytes(pos, 2)).readUInt16BE(0);
    if (length < 2) return false;
    pos += length;
    if (marker !== 0xda) continue;
    // Entropy-coded data: runs until a marker that is neither a stuffed 0xFF00 nor a restart.
    for (;;) {
      const ff = await r.nextFF(pos);
      if (ff < 0) return false;
      const next = await r.byte(ff + 1);
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7) || next === 0xff) {
        pos = next === 0xff ? ff + 1 : ff + 2;
        continue;
      }
      pos = ff;
      break;
    }
  }
}

async function gif(r: WindowReader): Promise<boolean> {
  const header = (await r.bytes(0, 13)).toString('latin1', 0, 6);
  if (header !== 'GIF87a' && header !== 'GIF89a') return false;
  const flags = await r.byte(10);
  let pos = 13 + (flags & 0x80 ? 3 << ((flags & 7) + 1) : 0);
  const skipSubBlocks = async () => {
    for (let size = await r.byte(pos); size !== 0; size = await r.byte(pos)) pos += size + 1;
    pos += 1;
  };
  for (;;) {
    const block = await r.byte(pos);
    if (block === 0x3b) return true;
    if (block === 0x21) {
      pos += 2;
      await skipSubBlocks();
    } else if (block === 0x2c) {
      const local = await r.byte(pos + 9);
      pos += 10 + (local & 0x80 ? 3 << ((local & 7) + 1) : 0);
      pos += 1; // LZW minimum code size
      await skipSubBlocks();
    } else {
      return false;
    }
  }
}

async function webp(r: WindowReader): Promise<boolean> {
  const head = await r.bytes(0, 12);
  if (head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WEBP') return false;
  const end = 8 + head.readUInt32LE(4);
  if (end > r.size) return false;
  let chunks = 0;
  for (let pos = 12; pos < end; chunks++) {
    const size = (await r.bytes(pos, 8)).readUInt32LE(4);
    pos += 8 + size + (size & 1);
    if (pos > end) return false;
  }
  return chunks > 0;
}

const CHECKS: Record<ImageType, (r: WindowReader) => Promise<boolean>> = { png, jpg: jpeg, gif, webp };
