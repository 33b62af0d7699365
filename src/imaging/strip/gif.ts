import type { Edits } from './edits.ts';
import { corrupt, type ImageBytes } from './file-bytes.ts';

const EXTENSION = 0x21;
const IMAGE = 0x2c;
const TRAILER = 0x3b;
const COMMENT = 0xfe;
const APPLICATION = 0xff;

/** Application extensions kept: looping (two spellings) and an ICC profile. XMP and the rest go. */
const KEPT_APPLICATIONS = new Set(['NETSCAPE2.0', 'ANIMEXTS1.0', 'ICCRGBG1012']);

/** GIF holds no EXIF; it can hold comments and application blocks (XMP among them). */
export async function stripGif(src: ImageBytes, edits: Edits): Promise<undefined> {
  const header = await src.bytes(0, 13);
  const signature = header.toString('latin1', 0, 6);
  if (signature !== 'GIF87a' && signature !== 'GIF89a') throw corrupt();
  let pos = 13 + colorTableSize(header[10] as number);
  if (pos > src.size) throw corrupt();
  await edits.keep(0, pos);
  for (;;) {
    const [block] = await src.bytes(pos, 1);
    if (block === TRAILER) {
      await edits.keep(pos, pos + 1);
      pos += 1;
      break;
    }
    if (block === EXTENSION) {
      const [label] = await src.bytes(pos + 1, 1);
      const end = await subBlocksEnd(src, pos + 2);
      const kept =
        label === COMMENT ? false : label === APPLICATION ? await isKeptApplication(src, pos + 2) : true;
      await (kept ? edits.keep(pos, end) : edits.drop(pos, end));
      pos = end;
    } else if (block === IMAGE) {
      const descriptor = await src.bytes(pos, 10);
      // The descriptor, its colour table, the LZW code size byte, then the data sub-blocks.
      const end = await subBlocksEnd(src, pos + 10 + colorTableSize(descriptor[9] as number) + 1);
      await edits.keep(pos, end);
      pos = end;
    } else {
      throw corrupt();
    }
  }
  await edits.drop(pos, src.size);
  return undefined;
}

const colorTableSize = (packed: number) => (packed & 0x80 ? 3 << ((packed & 7) + 1) : 0);

async function isKeptApplication(src: ImageBytes, at: number): Promise<boolean> {
  const [size] = await src.bytes(at, 1);
  return size === 11 && KEPT_APPLICATIONS.has((await src.bytes(at + 1, 11)).toString('latin1'));
}

/** Past the sub-blocks starting at `start`: each is a length byte and that many bytes, ended by a zero. */
async function subBlocksEnd(src: ImageBytes, start: number): Promise<number> {
  let pos = start;
  for (;;) {
    const window = await src.from(pos);
    let i = 0;
    while (i < window.length) {
      const size = window[i] as number;
      if (size === 0) return pos + i + 1;
      i += size + 1;
    }
    pos += i;
  }
}
