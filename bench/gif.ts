import zlib from 'node:zlib';

export { solidGif } from '../test/helpers/images.ts';

/**
 * The same GIF with a NETSCAPE2.0 (loop count) block after its colour table: new bytes, same
 * pixels and decoding work. Gazo keeps that block when it strips metadata (a comment would be
 * stripped, and the uploads would then be the same bytes again, decoded once).
 */
export function uniqueGif(gif: Buffer, tag: string): Buffer {
  const flags = gif[10] as number;
  const afterTable = 13 + (flags & 0x80 ? 3 << ((flags & 7) + 1) : 0);
  const loops = zlib.crc32(tag) & 0xffff;
  const block = Buffer.from([
    0x21,
    0xff,
    11,
    ...Buffer.from('NETSCAPE2.0'),
    3,
    1,
    loops & 0xff,
    loops >> 8,
    0,
  ]);
  return Buffer.concat([gif.subarray(0, afterTable), block, gif.subarray(afterTable)]);
}
