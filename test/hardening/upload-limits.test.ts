import fs from 'node:fs/promises';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openRuntime } from '../../src/runtime.ts';
import { type ChildServer, killChildren, spawnServer } from '../helpers/child.ts';
import { solidGif } from '../helpers/images.ts';
import { serverDatabaseFor } from '../helpers/postgres.ts';
import { makeDataDir } from '../helpers/server.ts';

/**
 * What an attacker (or a careless script) can make a real `gazo serve` spend, measured from
 * /proc of the child process: request bodies are never buffered whole, limits answer before
 * the bytes arrive, and decoding is budgeted. Each case is a finding from trying Gazo as an
 * attacker; each failed before uploads were streamed.
 */

const MB = 1024 * 1024;
const BOUNDARY = 'gazo-test-boundary';

/** Resident and peak resident memory of a process, in bytes. */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

interface RawAnswer {
  status: number;
  body: string;
  /** Body bytes the client had written when the answer arrived. */
  sentBeforeAnswer: number;
  elapsedMs: number;
}

/**
 * Sends a request whose body is produced chunk by chunk (never held whole here either), and
 * stops sending as soon as an answer arrives or the server closes the connection.
 */
function sendStreaming(
  url: string,
  path: string,
  headers: Record<string, string | number>,
  chunks: () => Generator<Buffer>,
): Promise<RawAnswer> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = http.request(`${url}${path}`, { method: 'POST', headers });
    req.on('response', (res) => {
      answered = true;
      const sentBeforeAnswer = sent;
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, sentBeforeAnswer, elapsedMs: Date.now() - started }),
      );
      res.on('error', reject);
    });
    // The server may close while we are still writing: that is the point, not a failure.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const source = chunks();
    const pump = () => {
      for (;;) {
        if (answered || req.destroyed) return;
        const next = source.next();
        if (next.done) return void req.end();
        sent += next.value.length;
        if (!req.write(next.value)) return void req.once('drain', pump);
      }
    };
    pump();
  });
}

function* textFields(count: number, bytesEach: number): Generator<Buffer> {
  const filler = Buffer.alloc(MB, 'a');
  for (let i = 0; i < count; i++) {
    yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="field${i}"\r\n\r\n`);
    for (let left = bytesEach; left > 0; left -= MB) yield filler.subarray(0, Math.min(MB, left));
    yield Buffer.from('\r\n');
  }
  yield Buffer.from(`--${BOUNDARY}--\r\n`);
}

function* endlessImage(totalBytes: number): Generator<Buffer> {
  yield Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="imagedata"; filename="x.png"\r\n\r\n`,
  );
  const filler = Buffer.alloc(MB, 7);
  for (let left = totalBytes; left > 0; left -= MB) yield filler;
}

function multipartBody(parts: Array<{ name: string; data: Buffer; filename?: string }>): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const filename = part.filename ? `; filename="${part.filename}"` : '';
    chunks.push(
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.name}"${filename}\r\n\r\n`),
      part.data,
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

const multipartType = `multipart/form-data; boundary=${BOUNDARY}`;

describe('upload limits and memory, on a real server process', () => {
  let server: ChildServer;
  let dataDir: string;
  let token: string;
  let pid: number;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    const rt = await openRuntime(loadConfig({ dataDir, database: await serverDatabaseFor(dataDir) }, {}));
    await rt.accounts.createUser('limits');
    token = (await rt.accounts.createToken('limits')).token;
    await rt.close();
    server = await spawnServer(dataDir);
    pid = server.proc.pid as number;
  }, 60_000);

  afterAll(async () => {
    await killChildren();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  const stagedFiles = async () =>
    (await fs.readdir(`${dataDir}/blobs/tmp`).catch(() => [] as string[])).filter((f) => f.endsWith('.part'));

  it('forty 10 MB text fields with no token: answered early, memory barely moves', async () => {
    const before = await memoryOf(pid);
    const answer = await sendStreaming(
      server.url,
      '/api/upload',
      { 'Content-Type': multipartType, 'Transfer-Encoding': 'chunked' },
      () => textFields(40, 10 * MB),
    );
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ message: expect.stringMatching(/too large/i) });
    // The first field is refused at its limit: nowhere near the 400 MB the client meant to send.
    expect(answer.sentBeforeAnswer).toBeLessThan(100 * MB);
    const after = await memoryOf(pid);
    expect(after.peak - before.peak).toBeLessThan(64 * MB);
  });

  it('a declared Content-Length of 10 GB is refused from the headers at once', async () => {
    const answer = await sendStreaming(
      server.url,
      `/api/upload?access_token=${token}`,
      { 'Content-Type': multipartType, 'Content-Length': 10 * 1024 * MB },
      () => endlessImage(4 * MB),
    );
    expect(answer.status).toBe(413);
    expect(answer.elapsedMs).toBeLessThan(5000);
    expect(JSON.parse(answer.body)).toMatchObject({ method: 'POST', request: '/api/upload' });
  });

  it('a 60 MB upload with a valid token gets its 413 before it is all sent', async () => {
    const body = multipartBody([{ name: 'imagedata', data: Buffer.alloc(60 * MB, 1), filename: 'big.png' }]);
    const answer = await sendStreaming(
      server.url,
      `/api/upload?access_token=${token}`,
      { 'Content-Type': multipartType, 'Content-Length': body.length },
      function* () {
        for (let i = 0; i < body.length; i += MB) yield body.subarray(i, i + MB);
      },
    );
    expect(answer.status).toBe(413);
    expect(answer.sentBeforeAnswer).toBeLessThan(body.length);
  });

  it('a chunked body that grows past the limit is cut off there, leaving no staged file', async () => {
    const before = await memoryOf(pid);
    const answer = await sendStreaming(
      server.url,
      `/api/upload?access_token=${token}`,
      { 'Content-Type': multipartType, 'Transfer-Encoding': 'chunked' },
      () => endlessImage(2048 * MB),
    );
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).message).toMatch(/imagedata is too large/);
    // The limit is 50 MB: the server stopped reading there, not at 2 GB.
    expect(answer.sentBeforeAnswer).toBeLessThan(200 * MB);
    expect((await memoryOf(pid)).peak - before.peak).toBeLessThan(64 * MB);
    expect(await stagedFiles()).toEqual([]);
  });

  it('too many parts is called that, not "body too large"', async () => {
    const parts = Array.from({ length: 40 }, (_, i) => ({ name: `f${i}`, data: Buffer.from('x') }));
    const res = await fetch(`${server.url}/api/upload?access_token=${token}`, {
      method: 'POST',
      headers: { 'Content-Type': multipartType },
      body: new Uint8Array(multipartBody(parts)),
    });
    expect(res.status).toBe(413);
    expect((await res.json()).message).toMatch(/too many (parts|fields)/i);
  });

  it('six 68 KB, 100-megapixel GIFs uploaded at once wait for each other to decode', async () => {
    // Six different files (identical bytes would be decoded once).
    const gifs = Array.from({ length: 6 }, (_, i) => solidGif(9999 - i, 10000));
    expect((gifs[0] as Buffer).length).toBeLessThan(100 * 1024);
    const before = await memoryOf(pid);
    const results = await Promise.all(
      gifs.map(async (gif) => {
        const res = await fetch(`${server.url}/api/upload?access_token=${token}`, {
          method: 'POST',
          headers: { 'Content-Type': multipartType },
          body: new Uint8Array(multipartBody([{ name: 'imagedata', data: gif, filename: 'big.gif' }])),
        });
        return { status: res.status, body: await res.text() };
      }),
    );
    for (const result of results) expect(result.status, result.body).toBe(200);
    // The upload answers before decoding; asking for every thumbnail at once makes the six
    // decodes happen now (on demand, or in their jobs), and they must still wait in turn.
    const thumbs = await Promise.all(
      results.map(async (r) => (await fetch((JSON.parse(r.body) as { thumb_url: string }).thumb_url)).status),
    );
    expect(thumbs).toEqual([200, 200, 200, 200, 200, 200]);
    const grew = (await memoryOf(pid)).peak - before.rss;
    // Each decode needs about 400 MB; the 512 MB budget lets one run at a time.
    expect(grew).toBeLessThan(900 * MB);
  }, 120_000);
});
