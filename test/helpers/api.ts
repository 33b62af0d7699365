import http from 'node:http';
import { expect } from 'vitest';
import type { WireImage } from '../../src/services/wire.ts';
import { form, type TestServer } from './server.ts';

/** What every JSON answer of Gazo, error or not, must say it is (COMPAT.md). */
export const JSON_TYPE = 'application/json; charset=utf-8';

/** Reads a JSON answer, checking its Content-Type first. */
// biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field and assert each.
export async function jsonOf<T = any>(res: Response): Promise<T> {
  expect(res.headers.get('content-type')).toBe(JSON_TYPE);
  return (await res.json()) as T;
}

/**
 * Checks a Gyazo-shaped error: the status, JSON with `{message, request, method}`, `request` the
 * bare path (never the query, which may hold a token). Returns the body for further checks.
 */
export async function expectError(
  res: Response,
  status: number,
  expected: { path: string; method?: string; message?: string | RegExp },
): Promise<{ message: string; request: string; method: string }> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toBe(JSON_TYPE);
  const body = JSON.parse(text);
  expect(Object.keys(body).sort()).toEqual(['message', 'method', 'request']);
  expect(typeof body.message).toBe('string');
  expect(body.message.length).toBeGreaterThan(0);
  expect(body.request).toBe(expected.path);
  expect(body.method).toBe(expected.method ?? 'GET');
  if (typeof expected.message === 'string') expect(body.message).toBe(expected.message);
  else if (expected.message) expect(body.message).toMatch(expected.message);
  return body;
}

type Field = string | { data: Buffer; filename?: string; type?: string };

/** POST /api/upload with fetch's FormData; the token goes where `via` says. */
export function upload(
  server: TestServer,
  token: string | undefined,
  fields: Record<string, Field>,
  via: 'query' | 'header' | 'field' = 'query',
): Promise<Response> {
  const headers: Record<string, string> = {};
  let url = `${server.url}/api/upload`;
  const all = { ...fields };
  if (token !== undefined) {
    if (via === 'query') url += `?access_token=${encodeURIComponent(token)}`;
    else if (via === 'header') headers.authorization = `Bearer ${token}`;
    else all.access_token = token;
  }
  return fetch(url, { method: 'POST', body: form(all), headers });
}

/** Uploads and returns the image object, failing the test unless the answer is 200. */
export async function uploadOk(
  server: TestServer,
  token: string,
  bytes: Buffer,
  fields: Record<string, Field> = {},
): Promise<WireImage> {
  const res = await upload(server, token, { imagedata: { data: bytes }, ...fields });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  expect(res.headers.get('content-type')).toBe(JSON_TYPE);
  return JSON.parse(text);
}

export type { WireImage } from '../../src/services/wire.ts';

/** Checks the whole shape of an image object as COMPAT.md fixes it. */
export function expectImageObject(image: WireImage, server: TestServer) {
  // The owner's answers add the location when the photo had one (and only then).
  const { exif_normalized: location, ...rest } = image;
  if (location !== undefined) {
    expect(Object.keys(location).sort()).toEqual(['latitude', 'longitude']);
    expect(Math.abs(location.latitude)).toBeLessThanOrEqual(90);
    expect(Math.abs(location.longitude)).toBeLessThanOrEqual(180);
  }
  expect(Object.keys(rest).sort()).toEqual(
    [
      'access_policy',
      'alt_text',
      'created_at',
      'image_id',
      'metadata',
      'ocr',
      'permalink_url',
      'thumb_url',
      'type',
      'url',
    ].sort(),
  );
  expect(image.image_id).toMatch(/^[0-9a-f]{32}$/);
  expect(image.permalink_url).toBe(`${server.url}/${image.image_id}`);
  expect(image.url).toBe(`${server.url}/${image.image_id}.${image.type}`);
  expect(image.thumb_url.startsWith(`${server.url}/`)).toBe(true);
  expect(image.thumb_url).toContain(image.image_id);
  expect(['png', 'jpg', 'gif', 'webp']).toContain(image.type);
  expect(image.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
  expect(Object.keys(image.metadata).sort()).toEqual(['app', 'desc', 'title', 'url']);
  expect(typeof image.metadata.desc).toBe('string');
  for (const k of ['app', 'title', 'url'] as const) {
    expect(image.metadata[k] === null || typeof image.metadata[k] === 'string').toBe(true);
  }
  expect(image.ocr).toEqual({ locale: null, description: '' });
  expect(['anyone', 'only_me']).toContain(image.access_policy);
  expect(typeof image.alt_text).toBe('string');
}

/** A multipart part written by hand: header lines exactly as given (case, order, omissions). */
export interface RawPart {
  headers: string[];
  body: Buffer | string;
}

/**
 * Builds a multipart/form-data body byte by byte, for what FormData cannot express: a file part
 * with no Content-Type, lower-case header names, a file sent as a plain field.
 */
export function rawMultipart(parts: RawPart[], boundary = '----gazotest7MA4YWxkTrZu0gW') {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\n${part.headers.join('\r\n')}\r\n\r\n`, 'latin1'));
    chunks.push(typeof part.body === 'string' ? Buffer.from(part.body, 'utf8') : part.body);
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** A text field part, as a browser would write it. */
export const fieldPart = (name: string, value: string): RawPart => ({
  headers: [`Content-Disposition: form-data; name="${name}"`],
  body: value,
});

/**
 * An upload.cgi request exactly as Gyazo for Linux sends it: the fields given (`metadata`, then
 * `id`; an empty id asks for an anonymous device), then the image named gyazo.com with no
 * Content-Type. Answers the status, the plain-text body (the permalink) and the device headers.
 */
export async function gyazoForLinuxUpload(
  base: string,
  fields: { id: string; metadata?: string },
  png: Buffer,
): Promise<{ status: number; text: string; id: string | null; token: string | null }> {
  const { body, contentType } = rawMultipart([
    ...(fields.metadata === undefined ? [] : [fieldPart('metadata', fields.metadata)]),
    fieldPart('id', fields.id),
    { headers: ['content-disposition: form-data; name="imagedata"; filename="gyazo.com"'], body: png },
  ]);
  const res = await fetch(`${base}/upload.cgi`, {
    method: 'POST',
    body,
    headers: { 'content-type': contentType, 'x-gyazo-accept-token': 'required', 'user-agent': 'Gyazo/1.3.1' },
  });
  return {
    status: res.status,
    text: await res.text(),
    id: res.headers.get('x-gyazo-id'),
    token: res.headers.get('x-gyazo-session-token'),
  };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A request whose path is sent exactly as written: fetch (like every URL parser) resolves `..`
 * and `%2e%2e` before sending, so path-traversal probes need this.
 */
export function rawRequest(
  server: TestServer,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The stored state that a refused request must leave exactly as it was. */
export async function storedState(server: TestServer) {
  return { images: await server.imageCount(), files: await server.blobFiles() };
}

/**
 * Runs every due background job (blob collection) and waits for any the server's own worker
 * had already claimed, so that the blob folder reflects every delete made so far.
 */
export async function settleJobs(server: TestServer): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await server.rt.worker.drain();
    if ((await server.rt.store.jobs.countPending()) === 0) return;
    if (Date.now() > deadline) throw new Error('background jobs did not finish');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The blob files of one stored image: its original and its thumbnail, by content hash. */
export function filesOf(files: string[], blobKey: string): string[] {
  return files.filter((f) => f.endsWith(blobKey));
}
