import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';

/**
 * The same PNG with a `pHYs` chunk (pixel density) derived from `tag` after IHDR: different
 * bytes (so the content-hash dedupe does no shortcut) but the same pixels and decoding work.
 * Gazo keeps pHYs when it strips metadata; a text chunk would be stripped, making the uploads
 * the same bytes again.
 */
export function uniquePng(png: Buffer, tag: string): Buffer {
  if (png.toString('latin1', 12, 16) !== 'IHDR') throw new Error('PNG does not start with IHDR');
  const afterIhdr = 8 + 12 + png.readUInt32BE(8);
  const chunk = Buffer.alloc(12 + 9);
  chunk.writeUInt32BE(9, 0);
  chunk.write('pHYs', 4, 'latin1');
  chunk.writeUInt32BE(zlib.crc32(tag) >>> 0, 8);
  chunk.writeUInt32BE(zlib.crc32(`${tag}.`) >>> 0, 12);
  chunk[16] = 0;
  chunk.writeUInt32BE(zlib.crc32(chunk.subarray(4, 17)), 17);
  return Buffer.concat([png.subarray(0, afterIhdr), chunk, png.subarray(afterIhdr)]);
}

/** A multipart/form-data body with one `imagedata` file part, as the Gyazo clients send it. */
export function multipartUpload(png: Buffer): { body: Buffer; contentType: string } {
  const boundary = `----gazobench${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="imagedata"; filename="gyazo.com"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
    'latin1',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  return { body: Buffer.concat([head, png, tail]), contentType: `multipart/form-data; boundary=${boundary}` };
}
