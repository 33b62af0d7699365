import { crc32 } from 'node:zlib';
import type { Edits } from './edits.ts';
import { replace } from './edits.ts';
import { type ExifFacts, MAX_EXIF_READ, minimalExif, readExif } from './exif.ts';
import { corrupt, type ImageBytes } from './file-bytes.ts';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Ancillary chunks that say how to show the pixels (colour, transparency, density, animation)
 * or when they were last changed. Every other ancillary chunk goes: tEXt/zTXt/iTXt (XMP lives in
 * iTXt), eXIf (written back holding only the orientation), and private ones such as C2PA's caBX.
 * Critical chunks (upper-case first letter) are always kept: a decoder needs them.
 */
const KEPT = new Set(
  'tRNS cHRM gAMA iCCP sBIT sRGB cICP mDCV cLLI bKGD hIST pHYs sPLT tIME acTL fcTL fdAT oFFs pCAL sCAL sTER'.split(
    ' ',
  ),
);

const isCritical = (type: string) => (type.charCodeAt(0) & 0x20) === 0;

export async function stripPng(src: ImageBytes, edits: Edits): Promise<ExifFacts | undefined> {
  if (!(await src.bytes(0, 8)).equals(SIGNATURE)) throw corrupt();
  await edits.keep(0, 8);
  let exif: ExifFacts | undefined;
  let pos = 8;
  for (;;) {
    const head = await src.bytes(pos, 8);
    const length = head.readUInt32BE(0);
    const type = head.toString('latin1', 4, 8);
    if (length > 0x7fffffff || !/^[A-Za-z]{4}$/.test(type)) throw corrupt();
    const end = pos + 12 + length;
    if (end > src.size) throw corrupt();
    if (type === 'IEND' || isCritical(type) || KEPT.has(type)) {
      await edits.keep(pos, end);
    } else if (type === 'eXIf' && !exif) {
      exif = length <= MAX_EXIF_READ ? readExif(await src.bytes(pos + 8, length)) : { orientation: 1 };
      const tiff = minimalExif(exif.orientation);
      if (tiff) await replace(src, edits, pos, end, pngChunk('eXIf', tiff));
      else await edits.drop(pos, end);
    } else {
      await edits.drop(pos, end);
    }
    pos = end;
    if (type === 'IEND') break;
  }
  await edits.drop(pos, src.size);
  return exif;
}

/** A chunk with its length and CRC. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
