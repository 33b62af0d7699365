import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../src/blobs/blob-store.ts';
import { uploadOk, type WireImage } from '../helpers/api.ts';
import { noisePng, solidPng } from '../helpers/images.ts';
import { startTestS3, TEST_S3_ENV, type TestS3 } from '../helpers/s3-server.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

// The S3 configuration takes its credentials from the usual AWS_* variables, as in production.
Object.assign(process.env, TEST_S3_ENV);

/** Counts the calls that reach the blob store: a 304 must make none. */
function countBlobCalls(blobs: BlobStore) {
  const calls: string[] = [];
  for (const name of ['read', 'stream', 'stat', 'exists', 'withLocalFile', 'directUrl'] as const) {
    const original = blobs[name].bind(blobs) as (...args: unknown[]) => unknown;
    (blobs as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      calls.push(name);
      return original(...args);
    };
  }
  return calls;
}

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3(['serving', 'presigned']);
});
afterAll(() => s3?.stop());

describe.each([
  ['the data dir folder', () => ({})],
  ['an S3 bucket', () => ({ blobs: s3.blobsUrl('serving') })],
])('serving originals from %s', (_label, overrides) => {
  let server: TestServer;
  let token: string;
  let calls: string[];
  let small: { bytes: Buffer; image: WireImage };
  let big: { bytes: Buffer; image: WireImage };

  beforeAll(async () => {
    server = await startServer(overrides());
    token = (await server.user()).token;
    calls = countBlobCalls(server.rt.blobs);
    const smallBytes = await solidPng(40, 30, '#102030');
    // Noise does not compress: about 2 MB, above what is read whole into memory.
    const bigBytes = await noisePng(820, 820, 7);
    small = { bytes: smallBytes, image: await uploadOk(server, token, smallBytes) };
    big = { bytes: bigBytes, image: await uploadOk(server, token, bigBytes) };
    await server.settle();
  });
  afterAll(() => server?.close());

  it('answers a matching If-None-Match with 304 before any byte is fetched, original and thumbnail', async () => {
    for (const url of [small.image.url, small.image.thumb_url, big.image.url]) {
      const first = await fetch(url);
      expect(first.status).toBe(200);
      await first.arrayBuffer();
      const etag = first.headers.get('etag') as string;
      calls.length = 0;
      const again = await fetch(url, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
      expect(again.headers.get('etag')).toBe(etag);
      expect(again.headers.get('cache-control')).toBe(first.headers.get('cache-control'));
      expect(calls).toEqual([]);
    }
  });

  it('answers a Range on a raw original with 206 and exactly those bytes, headers kept', async () => {
    const { bytes, image } = big;
    const size = bytes.length;
    const full = await fetch(image.url);
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    await full.arrayBuffer();
    for (const [header, start, end] of [
      ['bytes=0-0', 0, 0],
      ['bytes=100-1999', 100, 1999],
      [`bytes=${size - 10}-`, size - 10, size - 1],
      ['bytes=-16', size - 16, size - 1],
      [`bytes=1000-${size + 5000}`, 1000, size - 1],
    ] as const) {
      const res = await fetch(image.url, { headers: { range: header } });
      expect(res.status, header).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${size}`);
      expect(res.headers.get('content-length')).toBe(String(end - start + 1));
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(start, end + 1))).toBe(true);
      expect(res.headers.get('content-type')).toBe('image/png');
      expect(res.headers.get('etag')).toBe(full.headers.get('etag'));
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    // A small file answers ranges as well.
    const head = await fetch(small.image.url, { headers: { range: 'bytes=0-7' } });
    expect(head.status).toBe(206);
    expect(Buffer.from(await head.arrayBuffer()).equals(small.bytes.subarray(0, 8))).toBe(true);
  });

  it('is 416 for a range past the end, and ignores ranges it does not serve', async () => {
    const { bytes, image } = big;
    const past = await fetch(image.url, { headers: { range: `bytes=${bytes.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    await past.text();
    // A malformed byte range is refused as well (RFC 9110 allows refusing or ignoring it).
    const malformed = await fetch(image.url, { headers: { range: 'bytes=abc' } });
    expect(malformed.status).toBe(416);
    await malformed.text();
    const ignored = ['lines=0-1', 'bytes=0-1,5-9'].map((range) => ({ range }));
    // A stale If-Range (another validator) means "the whole file", as does any range we do not serve.
    ignored.push({ range: 'bytes=0-9', 'if-range': '"another"' } as { range: string });
    for (const headers of ignored) {
      const res = await fetch(image.url, { headers });
      expect(res.status, JSON.stringify(headers)).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    }
  });

  it('streams a large original instead of reading it whole, and serves it byte for byte', async () => {
    calls.length = 0;
    const res = await fetch(big.image.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(big.bytes.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(big.bytes)).toBe(true);
    expect(calls).not.toContain('read');
    expect(calls).toContain('stream');
    const head = await fetch(big.image.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(big.bytes.length));
  });

  it('is 404 for an original whose bytes are gone, not a stream that fails', async () => {
    const bytes = await noisePng(700, 700, 9);
    const image = await uploadOk(server, token, bytes);
    await server.settle();
    const row = await server.rt.store.images.findByImageId(image.image_id);
    await server.rt.blobs.delete(`orig/${row?.blob_key}`);
    for (const headers of [{}, { range: 'bytes=0-9' }] as Record<string, string>[]) {
      const res = await fetch(image.url, { headers });
      expect(res.status).toBe(404);
      expect((await res.json()).message).toBe('image not found');
      // Nothing that would let a cache keep the 404 as if it were the image.
      expect(res.headers.get('etag')).toBeNull();
      expect(res.headers.get('cache-control') ?? '').not.toContain('immutable');
    }
  });
});

describe('raw originals by redirect to presigned URLs (presign=1)', () => {
  let server: TestServer;
  let owner: string;

  beforeAll(async () => {
    server = await startServer({ blobs: s3.blobsUrl('presigned', '&presign=1') });
    owner = (await server.user()).token;
  });
  afterAll(() => server?.close());

  it('redirects to a URL on the bucket that serves the bytes as an image', async () => {
    const bytes = await solidPng(50, 50, '#405060');
    const image = await uploadOk(server, owner, bytes);
    const res = await fetch(image.url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = res.headers.get('location') as string;
    expect(location.startsWith(`${s3.endpoint}/presigned/orig/`)).toBe(true);
    expect(location).toContain('X-Amz-Signature=');
    expect(res.headers.get('cache-control')).toBe('private, no-store');
    const direct = await fetch(location);
    expect(direct.status).toBe(200);
    expect(direct.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await direct.arrayBuffer()).equals(bytes)).toBe(true);
    // Thumbnails are small and still served by Gazo; so is a 304.
    expect((await fetch(image.thumb_url, { redirect: 'manual' })).status).toBe(200);
    const etag = `"${(await server.rt.store.images.findByImageId(image.image_id))?.blob_key}"`;
    expect((await fetch(image.url, { redirect: 'manual', headers: { 'if-none-match': etag } })).status).toBe(
      304,
    );
  });

  it('redirects only viewers who may see the image', async () => {
    const image = await uploadOk(server, owner, await solidPng(51, 50), { access_policy: 'only_me' });
    const stranger = await fetch(image.url, { redirect: 'manual' });
    expect(stranger.status).toBe(404);
    expect(stranger.headers.get('location')).toBeNull();
    const own = await fetch(`${image.url}?access_token=${owner}`, { redirect: 'manual' });
    expect(own.status).toBe(302);
  });
});
