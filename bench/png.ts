import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';

const IEND_LENGTH = 12;

/**
 * The same PNG with a `tEXt` chunk carrying `tag` before IEND: different bytes (so the
 * content-hash dedupe does no shortcut) but exactly the same pixels and decoding work.
 */
export function uniquePng(png: Buffer, tag: string): Buffer {
  const data = Buffer.from(`bench\0${tag}`, 'latin1');
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write('tEXt', 4, 'latin1');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(zlib.crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  const cut = png.length - IEND_LENGTH;
  if (png.toString('latin1', cut + 4, cut + 8) !== 'IEND') throw new Error('PNG does not end with IEND');
  return Buffer.concat([png.subarray(0, cut), chunk, png.subarray(cut)]);
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
