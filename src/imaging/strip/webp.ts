import type { Edits } from './edits.ts';
import { replace } from './edits.ts';
import { type ExifFacts, MAX_EXIF_READ, minimalExif, readExif } from './exif.ts';
import { corrupt, type ImageBytes } from './file-bytes.ts';

/** Chunks that make up the picture; EXIF is written back holding only the orientation, XMP and anything unknown go. */
const KEPT = new Set(['VP8X', 'ICCP', 'ANIM', 'ANMF', 'ALPH', 'VP8 ', 'VP8L']);
const EXIF_FLAG = 0x08;
const XMP_FLAG = 0x04;

interface Chunk {
  fourcc: string;
  start: number;
  end: number;
}

/** Calls `each` for every chunk inside the RIFF container, in order. */
async function walk(src: ImageBytes, riffEnd: number, each: (chunk: Chunk) => Promise<void>) {
  let pos = 12;
  while (pos < riffEnd) {
    const head = await src.bytes(pos, 8);
    const size = head.readUInt32LE(4);
    const end = pos + 8 + size + (size & 1);
    if (end > riffEnd) throw corrupt();
    await each({ fourcc: head.toString('latin1', 0, 4), start: pos, end });
    pos = end;
  }
}

/**
 * Two walks over the chunk headers: the first finds what stays (the RIFF size and the VP8X
 * flags at the front depend on it), the second says so. Bytes after the RIFF container go.
 */
export async function stripWebp(src: ImageBytes, edits: Edits): Promise<ExifFacts | undefined> {
  const riff = await src.bytes(0, 12);
  if (riff.toString('latin1', 0, 4) !== 'RIFF' || riff.toString('latin1', 8, 12) !== 'WEBP') throw corrupt();
  const riffEnd = 8 + riff.readUInt32LE(4);
  if (riffEnd > src.size || riffEnd < 20) throw corrupt();

  let extended: boolean | undefined;
  let exif: ExifFacts | undefined;
  let kept = 0;
  await walk(src, riffEnd, async (c) => {
    extended ??= c.fourcc === 'VP8X';
    if (c.fourcc === 'EXIF' && !exif) {
      const length = c.end - c.start - 8;
      exif = length <= MAX_EXIF_READ ? readExif(await src.bytes(c.start + 8, length)) : { orientation: 1 };
    } else if (KEPT.has(c.fourcc)) {
      kept += c.end - c.start;
    }
  });
  // The simple format (no VP8X) has nowhere to say that EXIF is there: orientation is lost with it.
  const tiff = exif && extended ? minimalExif(exif.orientation) : undefined;
  const exifChunk = tiff ? chunk('EXIF', tiff) : undefined;

  const header = Buffer.from(riff);
  header.writeUInt32LE(4 + kept + (exifChunk?.length ?? 0), 4);
  await replace(src, edits, 0, 12, header);
  let exifDone = false;
  await walk(src, riffEnd, async (c) => {
    if (c.fourcc === 'VP8X') {
      // Only the chunk header and the flags byte change: the rest is copied, however long.
      const head = await src.bytes(c.start, Math.min(9, c.end - c.start));
      if (head.length === 9)
        head[8] = ((head[8] as number) & ~(EXIF_FLAG | XMP_FLAG)) | (exifChunk ? EXIF_FLAG : 0);
      await replace(src, edits, c.start, c.start + head.length, head);
      await edits.keep(c.start + head.length, c.end);
    } else if (c.fourcc === 'EXIF' && !exifDone && exifChunk) {
      exifDone = true;
      await replace(src, edits, c.start, c.end, exifChunk);
    } else if (KEPT.has(c.fourcc)) {
      await edits.keep(c.start, c.end);
    } else {
      await edits.drop(c.start, c.end);
    }
  });
  await edits.drop(riffEnd, src.size);
  return exif;
}

function chunk(fourcc: string, data: Buffer): Buffer {
  const out = Buffer.alloc(8 + data.length + (data.length & 1));
  out.write(fourcc, 0, 'latin1');
  out.writeUInt32LE(data.length, 4);
  data.copy(out, 8);
  return out;
}
