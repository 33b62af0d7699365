import type { Edits } from './edits.ts';
import { replace } from './edits.ts';
import { EXIF_PREFIX, type ExifFacts, minimalExif, readExif } from './exif.ts';
import { corrupt, type ImageBytes } from './file-bytes.ts';

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP0 = 0xe0;
const APP1 = 0xe1;
const APP2 = 0xe2;
const APP14 = 0xee;
const COM = 0xfe;

/**
 * The application segments kept, by marker and leading identifier: JFIF (density), the ICC
 * profile, Adobe's (which says how to read CMYK/YCCK colour). Every other APPn and every comment
 * goes: EXIF, XMP, Photoshop/IPTC, MPF, FlashPix, JPEG-XT/JUMBF (C2PA), vendors' blocks.
 */
const KEPT_APP: Record<number, Buffer> = {
  [APP0]: Buffer.from('JFIF\0', 'latin1'),
  [APP2]: Buffer.from('ICC_PROFILE\0', 'latin1'),
  [APP14]: Buffer.from('Adobe', 'latin1'),
};

/** Markers that stand alone, with no length: TEM and the restart markers. */
const standalone = (marker: number) => marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7);

/**
 * Walks the segments, and the entropy-coded data between them, to the end of the image (EOI).
 * What follows EOI (MPF secondary images such as previews and gain maps, vendor trailers, each
 * of which may carry its own EXIF) is dropped too: decoders never read it.
 */
export async function stripJpeg(src: ImageBytes, edits: Edits): Promise<ExifFacts | undefined> {
  const soi = await src.bytes(0, 2);
  if (soi[0] !== 0xff || soi[1] !== SOI) throw corrupt();
  await edits.keep(0, 2);
  let exif: ExifFacts | undefined;
  let pos = 2;
  for (;;) {
    const [ff, marker] = await src.bytes(pos, 2);
    if (ff !== 0xff || marker === undefined || marker === SOI) throw corrupt();
    if (marker === 0xff) {
      // A fill byte before the marker.
      await edits.keep(pos, pos + 1);
      pos += 1;
      continue;
    }
    if (marker === EOI) {
      await edits.keep(pos, pos + 2);
      pos += 2;
      break;
    }
    if (standalone(marker)) {
      await edits.keep(pos, pos + 2);
      pos += 2;
      continue;
    }
    const length = (await src.bytes(pos + 2, 2)).readUInt16BE(0);
    if (length < 2) throw corrupt();
    const end = pos + 2 + length;
    if (end > src.size) throw corrupt();
    const head = await src.bytes(pos + 4, Math.min(length - 2, 12));
    if (marker === APP1 && head.subarray(0, 6).equals(EXIF_PREFIX) && !exif) {
      exif = readExif(await src.bytes(pos + 4, length - 2));
      const tiff = minimalExif(exif.orientation);
      if (tiff) await replace(src, edits, pos, end, segment(APP1, Buffer.concat([EXIF_PREFIX, tiff])));
      else await edits.drop(pos, end);
    } else if (marker === COM || (marker >= APP0 && marker <= 0xef && !startsWith(head, KEPT_APP[marker]))) {
      await edits.drop(pos, end);
    } else {
      await edits.keep(pos, end);
    }
    pos = end;
    if (marker === SOS) {
      const next = await entropyDataEnd(src, pos);
      await edits.keep(pos, next);
      pos = next;
    }
  }
  await edits.drop(pos, src.size);
  return exif;
}

function startsWith(bytes: Buffer, prefix: Buffer | undefined): boolean {
  return prefix !== undefined && bytes.subarray(0, prefix.length).equals(prefix);
}

function segment(marker: number, payload: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([head, payload]);
}

/**
 * Where the scan's entropy-coded data ends: the next 0xFF that is not a stuffed 0xFF00, a restart
 * marker or a fill byte. Running off the end means the image has no EOI: it is truncated.
 */
async function entropyDataEnd(src: ImageBytes, start: number): Promise<number> {
  let pos = start;
  for (;;) {
    const window = await src.from(pos);
    const i = window.indexOf(0xff);
    if (i < 0) {
      pos += window.length;
      continue;
    }
    const at = pos + i;
    const next = i + 1 < window.length ? window[i + 1] : (await src.bytes(at + 1, 1))[0];
    if (next === 0xff) pos = at + 1;
    else if (next === 0x00 || (next !== undefined && standalone(next))) pos = at + 2;
    else return at;
  }
}
