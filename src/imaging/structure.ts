import fs from 'node:fs/promises';
import zlib from 'node:zlib';

/**
 * Structural completeness of an image file, without decoding its pixels: a truncated or damaged
 * upload is refused before anything is stored, at the cost of one pass over the file with a
 * fixed-size buffer (the pixel decode happens later, in the background).
 *
 *   PNG   the signature, then every chunk with its CRC, IHDR first, through IEND;
 *   JPEG  SOI, then every marker segment and entropy-coded scan, through EOI;
 *   GIF   the header, screen descriptor and colour tables, every block and sub-block, through
 *         the trailer;
 *   WebP  the RIFF header, whose size the file must hold, and the chunks that fill it exactly.
 *
 * Bytes after the end (after IEND, EOI or the GIF trailer) are allowed: many tools append them,
 * and decoders ignore them.
 */
export type StructureResult = { ok: true } | { ok: false; reason: string };
export type StructuredType = 'png' | 'jpg' | 'gif' | 'webp';

const BUFFER_BYTES = 64 * 1024;

/** Checks the file at `file` as an image of `type`. Never throws for bad content; I/O errors do throw. */
export async function checkStructure(file: string, type: StructuredType): Promise<StructureResult> {
  const handle = await fs.open(file, 'r');
  try {
    const reader = new FileReader(handle, (await handle.stat()).size);
    const check = { png: checkPng, jpg: checkJpeg, gif: checkGif, webp: checkWebp }[type];
    return await check(reader);
  } catch (err) {
    if (err instanceof Truncated) return { ok: false, reason: `truncated: ${err.message}` };
    if (err instanceof Corrupt) return { ok: false, reason: `corrupt: ${err.message}` };
    throw err;
  } finally {
    await handle.close();
  }
}

class Truncated extends Error {}
class Corrupt extends Error {}

/** Sequential reads over a file through one fixed buffer; skips are seeks, not reads. */
class FileReader {
  private readonly buffer = Buffer.alloc(BUFFER_BYTES);
  /** File offset of buffer[0]. */
  private start = 0;
  private filled = 0;
  /** File offset of the next byte to hand out. */
  position = 0;

  constructor(
    private readonly handle: fs.FileHandle,
    readonly size: number,
  ) {}

  get remaining(): number {
    return this.size - this.position;
  }

  private async fill(): Promise<void> {
    this.start = this.position;
    const { bytesRead } = await this.handle.read(this.buffer, 0, BUFFER_BYTES, this.position);
    this.filled = bytesRead;
  }

  /** The next `n` bytes (n ≤ the buffer size), or Truncated, naming `what`. */
  async bytes(n: number, what: string): Promise<Buffer> {
    if (n > this.remaining) throw new Truncated(`the file ends inside ${what}`);
    if (this.position + n > this.start + this.filled) await this.fill();
    const at = this.position - this.start;
    this.position += n;
    return this.buffer.subarray(at, at + n);
  }

  async byte(what: string): Promise<number> {
    return (await this.bytes(1, what))[0] as number;
  }

  skip(n: number, what: string): void {
    if (n > this.remaining) throw new Truncated(`the file ends inside ${what}`);
    this.position += n;
  }

  /** Feeds the next `n` bytes to `each`, a buffer at a time. */
  async stream(n: number, what: string, each: (span: Buffer) => void): Promise<void> {
    if (n > this.remaining) throw new Truncated(`the file ends inside ${what}`);
    let left = n;
    while (left > 0) {
      const take = Math.min(left, BUFFER_BYTES);
      each(await this.bytes(take, what));
      left -= take;
    }
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** The PNG spec's limit on a chunk's length. */
const PNG_MAX_CHUNK = 2 ** 31 - 1;

async function checkPng(r: FileReader): Promise<StructureResult> {
  if (!(await r.bytes(8, 'the PNG signature')).equals(PNG_SIGNATURE))
    throw new Corrupt('not a PNG signature');
  let index = 0;
  let sawIdat = false;
  for (;;) {
    const head = await r.bytes(8, 'a PNG chunk header');
    const length = head.readUInt32BE(0);
    const name = head.toString('latin1', 4, 8);
    if (length > PNG_MAX_CHUNK) throw new Corrupt(`chunk ${JSON.stringify(name)} claims ${length} bytes`);
    if (!/^[A-Za-z]{4}$/.test(name)) throw new Corrupt(`chunk ${index} has no valid type`);
    if (index === 0 && name !== 'IHDR') throw new Corrupt('the first chunk is not IHDR');
    let crc = zlib.crc32(head.subarray(4, 8));
    await r.stream(length, `chunk ${name}`, (span) => {
      crc = zlib.crc32(span, crc);
    });
    const stored = (await r.bytes(4, `the CRC of chunk ${name}`)).readUInt32BE(0);
    if (stored !== crc) throw new Corrupt(`chunk ${name} (number ${index}) fails its CRC`);
    if (name === 'IDAT') sawIdat = true;
    if (name === 'IEND') {
      if (!sawIdat) throw new Corrupt('no IDAT chunk before IEND');
      return { ok: true };
    }
    index++;
  }
}

// JPEG markers that stand alone, with no length: TEM, RST0–7, SOI, EOI.
const STANDALONE = (marker: number) => marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9);
const SOS = 0xda;
const EOI = 0xd9;

async function checkJpeg(r: FileReader): Promise<StructureResult> {
  const soi = await r.bytes(2, 'the JPEG start marker');
  if (soi[0] !== 0xff || soi[1] !== 0xd8) throw new Corrupt('no SOI marker');
  let marker = await nextMarker(r);
  for (;;) {
    if (marker === EOI) return { ok: true };
    if (marker === 0xd8) throw new Corrupt('a second SOI marker');
    if (STANDALONE(marker)) {
      marker = await nextMarker(r);
      continue;
    }
    const length = (await r.bytes(2, 'a JPEG segment length')).readUInt16BE(0);
    if (length < 2) throw new Corrupt(`segment FF${hex(marker)} has length ${length}`);
    r.skip(length - 2, `segment FF${hex(marker)}`);
    marker = marker === SOS ? await afterScan(r) : await nextMarker(r);
  }
}

/** The marker that follows; fill bytes (FF FF …) before it are allowed. */
async function nextMarker(r: FileReader): Promise<number> {
  if ((await r.byte('a JPEG marker')) !== 0xff) throw new Corrupt(`no marker at byte ${r.position - 1}`);
  let marker = await r.byte('a JPEG marker');
  while (marker === 0xff) marker = await r.byte('a JPEG marker');
  if (marker === 0x00) throw new Corrupt(`an escaped byte where a marker belongs, at byte ${r.position - 2}`);
  return marker;
}

/**
 * Walks entropy-coded data after a scan header: FF 00 is an escaped byte and FF D0–D7 a restart
 * marker; any other marker ends the scan and is returned.
 */
async function afterScan(r: FileReader): Promise<number> {
  let previousFf = false;
  for (;;) {
    const span = await r.bytes(Math.min(BUFFER_BYTES, Math.max(1, r.remaining)), 'the scan data (no EOI)');
    for (let i = 0; i < span.length; i++) {
      const b = span[i] as number;
      if (previousFf) {
        if (b !== 0x00 && b !== 0xff && !(b >= 0xd0 && b <= 0xd7)) {
          // Hand back the bytes after the marker.
          r.position -= span.length - i - 1;
          return b;
        }
        previousFf = b === 0xff;
      } else {
        previousFf = b === 0xff;
      }
    }
  }
}

const hex = (n: number) => n.toString(16).toUpperCase().padStart(2, '0');

async function checkGif(r: FileReader): Promise<StructureResult> {
  const header = (await r.bytes(6, 'the GIF header')).toString('latin1');
  if (header !== 'GIF87a' && header !== 'GIF89a') throw new Corrupt('not a GIF header');
  const screen = await r.bytes(7, 'the logical screen descriptor');
  const flags = screen[4] as number;
  if (flags & 0x80) r.skip(3 * 2 ** ((flags & 0x07) + 1), 'the global colour table');
  let images = 0;
  for (;;) {
    const introducer = await r.byte('the next GIF block (no trailer)');
    if (introducer === 0x3b) {
      if (images === 0) throw new Corrupt('no image before the trailer');
      return { ok: true };
    }
    if (introducer === 0x21) {
      await r.byte('an extension label');
      await subBlocks(r, 'an extension');
    } else if (introducer === 0x2c) {
      const descriptor = await r.bytes(9, 'an image descriptor');
      const local = descriptor[8] as number;
      if (local & 0x80) r.skip(3 * 2 ** ((local & 0x07) + 1), 'a local colour table');
      const minCodeSize = await r.byte('the LZW code size');
      if (minCodeSize < 2 || minCodeSize > 11) throw new Corrupt(`LZW code size ${minCodeSize}`);
      await subBlocks(r, 'image data');
      images++;
    } else {
      throw new Corrupt(`unknown block 0x${hex(introducer)} at byte ${r.position - 1}`);
    }
  }
}

/** Data sub-blocks: a length byte and that many bytes, until a length of 0. */
async function subBlocks(r: FileReader, what: string): Promise<void> {
  for (;;) {
    const length = await r.byte(what);
    if (length === 0) return;
    r.skip(length, what);
  }
}

async function checkWebp(r: FileReader): Promise<StructureResult> {
  const head = await r.bytes(12, 'the RIFF header');
  if (head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WEBP') {
    throw new Corrupt('not a RIFF WEBP header');
  }
  const riffSize = head.readUInt32LE(4);
  const end = 8 + riffSize;
  if (end > r.size) throw new Truncated(`the RIFF header says ${end} bytes, the file has ${r.size}`);
  if (riffSize % 2 !== 0 || riffSize < 4 + 8) throw new Corrupt(`RIFF size ${riffSize}`);
  let chunks = 0;
  while (r.position < end) {
    if (end - r.position < 8) throw new Corrupt('a chunk header crosses the end of the RIFF data');
    const chunk = await r.bytes(8, 'a WebP chunk header');
    const name = chunk.toString('latin1', 0, 4);
    const size = chunk.readUInt32LE(4);
    const padded = size + (size % 2);
    if (r.position + padded > end) throw new Corrupt(`chunk ${JSON.stringify(name)} runs past the RIFF data`);
    if (chunks === 0 && !['VP8 ', 'VP8L', 'VP8X'].includes(name)) {
      throw new Corrupt(`the first chunk is ${JSON.stringify(name)}, not VP8, VP8L or VP8X`);
    }
    r.skip(padded, `chunk ${name}`);
    chunks++;
  }
  return { ok: true };
}
