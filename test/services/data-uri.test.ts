import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { dataUriDecoder, NOT_A_DATA_URI } from '../../src/services/data-uri.ts';
import { noisePng } from '../helpers/images.ts';

/** Runs `text` through the decoder cut into pieces of `size` characters. */
async function decode(text: string, size: number): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(Buffer.from(text.slice(i, i + size), 'latin1'));
  const decoder = dataUriDecoder();
  const [out] = await Promise.all([buffer(decoder), pipeline(Readable.from(pieces), decoder)]);
  return out;
}

describe('decoding easy_auth image_url as it streams', () => {
  it('gives back the exact bytes however the text is cut, as a data URI, bare, base64url or wrapped', async () => {
    const png = await noisePng(40, 40, 11);
    const b64 = png.toString('base64');
    const forms = [
      `data:image/png;base64,${b64}`,
      `DATA:image/png;charset=x;BASE64,${b64}`,
      b64,
      png.toString('base64url'),
      b64.replace(/(.{76})/g, '$1\r\n'),
      // A form encoder that left `+` as is: it arrives as a space.
      b64.replace(/\+/g, ' '),
    ];
    for (const text of forms) {
      for (const size of [1, 3, 7, 64, 100_000]) {
        expect((await decode(text, size)).equals(png), `${text.slice(0, 20)}… in ${size}s`).toBe(true);
      }
    }
  });

  it('refuses URLs, non-base64 data URIs and stray characters', async () => {
    for (const url of [
      'http://127.0.0.1/x.png',
      'https://example.com/a',
      'file:///etc/passwd',
      '  ftp://x/y',
    ]) {
      await expect(decode(url, 5)).rejects.toThrow(NOT_A_DATA_URI);
    }
    await expect(decode('data:image/png,%89PNG', 4)).rejects.toThrow('base64-encoded');
    await expect(decode('data:image/png;base64,AAAA*AAA', 4)).rejects.toThrow('not valid base64');
    await expect(decode('data:image/png;base64,AAAA=AAA', 4)).rejects.toThrow('after its padding');
  });
});
