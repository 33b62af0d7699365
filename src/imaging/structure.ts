import { crc32 } from 'node:zlib';
import type { ImageInput, ImageType } from './imaging.ts';
import { corrupt, type ImageBytes, withImageBytes } from './strip/file-bytes.ts';

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
export async function checkStructure(input: ImageInput, type: ImageType): Promise<void> {
  // A small upload's bytes, kept as they arrived, are checked where they are: no reads.
  const ok = await withImageBytes(input, CHECKS[type]);
  if (!ok) throw corrupt();
}

const byte = async (src: ImageBytes, pos: number) => (await src.bytes(pos, 1))[0] as number;

/** The CRC-32 of a byte range of any length, a window at a time. */
async function crcOf(src: ImageBytes, pos: number, length: number): Promise<number> {
  if (pos + length > src.size) throw corrupt();
  let crc = 0;
  for (let at = pos; at < pos + length; ) {
    const window = await src.from(at);
    const n = Math.min(window.length, pos + length - at);
    crc = crc32(window.subarray(0, n), crc);
    at += n;
  }
  return crc;
}

/** The position of the next 0xFF at or after `pos`, or -1. */
async function nextFF(src: ImageBytes, pos: number): Promise<number> {
  for (let at = pos; at < src.size; ) {
    const window = await src.from(at);
    const i = window.indexOf(0xff);
    if (i >= 0) return at + i;
    at += window.length;
  }
  return -1;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function png(r: ImageBytes): Promise<boolean> {
  if (!(await r.bytes(0, 8)).equals(PNG_SIGNATURE)) return false;
  for (let pos = 8; ; ) {
    const head = await r.bytes(pos, 8);
    const length = head.readUInt32BE(0);
    if (length > 0x7fffffff) return false;
    const type = head.toString('latin1', 4, 8);
    const crc = await crcOf(r, pos + 4, 4 + length);
    if ((await r.bytes(pos + 8 + length, 4)).readUInt32BE(0) !== crc) return false;
    if (type === 'IEND') return true;
    pos += 12 + length;
  }
}

async function jpeg(r: ImageBytes): Promise<boolean> {
  if ((await byte(r, 0)) !== 0xff || (await byte(r, 1)) !== 0xd8) return false;
  let pos = 2;
  for (;;) {
    if ((await byte(r, pos)) !== 0xff) return false;
    let marker = await byte(r, pos + 1);
    // Fill bytes: any number of 0xFF may precede a marker.
    while (marker === 0xff) marker = await byte(r, ++pos + 1);
    pos += 2;
    if (marker === 0xd9) return true;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue;
    const length = (await r.bytes(pos, 2)).readUInt16BE(0);
    if (length < 2) return false;
    pos += length;
    if (marker !== 0xda) continue;
    // Entropy-coded data: runs until a marker that is neither a stuffed 0xFF00 nor a restart.
    for (;;) {
      const ff = await nextFF(r, pos);
      if (ff < 0) return false;
      const next = await byte(r, ff + 1);
      if (next === 0x00 || (next >= 0xd0 && next <= 0xd7) || next === 0xff) {
        pos = next === 0xff ? ff + 1 : ff + 2;
        continue;
      }
      pos = ff;
      break;
    }
  }
}

async function gif(r: ImageBytes): Promise<boolean> {
  const header = (await r.bytes(0, 13)).toString('latin1', 0, 6);
  if (header !== 'GIF87a' && header !== 'GIF89a') return false;
  const flags = await byte(r, 10);
  let pos = 13 + (flags & 0x80 ? 3 << ((flags & 7) + 1) : 0);
  const skipSubBlocks = async () => {
    for (let size = await byte(r, pos); size !== 0; size = await byte(r, pos)) pos += size + 1;
    pos += 1;
  };
  for (;;) {
    const block = await byte(r, pos);
    if (block === 0x3b) return true;
    if (block === 0x21) {
      pos += 2;
      await skipSubBlocks();
    } else if (block === 0x2c) {
      const local = await byte(r, pos + 9);
      pos += 10 + (local & 0x80 ? 3 << ((local & 7) + 1) : 0);
      pos += 1; // LZW minimum code size
      await skipSubBlocks();
    } else {
      return false;
    }
  }
}

async function webp(r: ImageBytes): Promise<boolean> {
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

const CHECKS: Record<ImageType, (r: ImageBytes) => Promise<boolean>> = { png, jpg: jpeg, gif, webp };
