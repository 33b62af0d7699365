import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEEP_IN_MEMORY_BYTES } from '../src/blobs/staged-file.ts';
import { loadConfig } from '../src/config.ts';
import { openRuntime } from '../src/runtime.ts';
import { type ChildServer, killChildren, spawnServer } from './helpers/child.ts';
import { screenshotPng } from './helpers/images.ts';
import { form, makeDataDir } from './helpers/server.ts';

/**
 * The durability promise, tested the hard way: a real `gazo serve` process takes a stream of
 * concurrent uploads and is SIGKILLed in the middle of it, then restarted on the same data
 * dir. Whatever the timing, every acknowledged upload must survive byte for byte, and the
 * blob folder must hold exactly the files of the images that exist: no orphan, no leftover
 * temporary file, nothing missing.
 */

const CLIENTS = 8;
const THUMB_SIZE = 500;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

interface Acked {
  imageId: string;
  hash: string;
}

interface StreamResult {
  acked: Acked[];
  /** Requests that got no complete answer (the kill cut them off). */
  cutOff: number;
  /** Answers other than 200: there should be none. */
  unexpected: string[];
  /** Requests sent and not yet answered when the kill signal went out. */
  inFlightAtKill: number;
}

/** Every distinct image ever sent, by hash, so that any listed image can be checked against it. */
const sent = new Map<string, Buffer>();
/** Distinct images, used up by the tests in order. */
let bank: Buffer[] = [];
/** A few images sent several times, within a round and across rounds. */
let duplicates: Buffer[] = [];
const dataDirs: string[] = [];

async function createAccount(dataDir: string): Promise<string> {
  const rt = await openRuntime(loadConfig({ dataDir }, {}));
  try {
    await rt.accounts.createUser('crash');
    return (await rt.accounts.createToken('crash')).token;
  } finally {
    await rt.close();
  }
}

/** Distinct images with the duplicates spread among them. */
function poolOf(distinct: Buffer[]): Buffer[] {
  const pool = [...distinct];
  duplicates.forEach((dup, i) => {
    for (let k = 0; k < 3; k++) pool.splice(Math.min(pool.length, 2 + i + k * 4), 0, dup);
  });
  return pool;
}

/**
 * CLIENTS clients upload `pool` as fast as they can; once `killAfter` uploads were acknowledged
 * and at least one other request is out, the server gets SIGKILL.
 */
async function uploadStream(
  server: ChildServer,
  token: string,
  pool: Buffer[],
  killAfter: number,
): Promise<StreamResult> {
  const result: StreamResult = { acked: [], cutOff: 0, unexpected: [], inFlightAtKill: 0 };
  let next = 0;
  let inFlight = 0;
  let killed = false;
  const kill = () => {
    killed = true;
    result.inFlightAtKill = inFlight;
    server.proc.kill('SIGKILL');
  };

  const client = async () => {
    while (!killed && next < pool.length) {
      const bytes = pool[next++] as Buffer;
      inFlight++;
      try {
        const res = await fetch(`${server.url}/api/upload?access_token=${token}`, {
          method: 'POST',
          body: form({ imagedata: { data: bytes, filename: 'gyazo.com' } }),
        });
        const text = await res.text();
        if (res.status === 200) {
          const image = JSON.parse(text) as { image_id: string };
          result.acked.push({ imageId: image.image_id, hash: sha256(bytes) });
        } else {
          result.unexpected.push(`${res.status} ${text}`);
        }
      } catch {
        // Connection reset or refused: the kill cut this one off; its fate is not known.
        result.cutOff++;
      } finally {
        inFlight--;
      }
      if (!killed && result.acked.length >= killAfter && inFlight > 0) kill();
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  if (!killed) kill();
  await server.exited;
  return result;
}

const sqliteFile = (dataDir: string) => path.join(dataDir, 'gazo.sqlite');

/** What the dead server left: uncommitted uploads, and files no image refers to. */
async function stateAtKill(dataDir: string): Promise<{ pending: number; extraFiles: number }> {
  const db = new Database(sqliteFile(dataDir), { readonly: true, fileMustExist: true });
  try {
    const pending = (db.prepare('SELECT count(*) AS n FROM pending_blobs').get() as { n: number }).n;
    const keys = new Set(
      (db.prepare('SELECT DISTINCT blob_key FROM images').all() as Array<{ blob_key: string }>).map(
        (r) => r.blob_key,
      ),
    );
    const files = await blobFiles(dataDir);
    // Each image's blob has two files; anything beyond that is what the sweep must remove.
    return { pending, extraFiles: files.length - 2 * keys.size };
  } finally {
    db.close();
  }
}

async function blobFiles(dataDir: string): Promise<string[]> {
  const root = path.join(dataDir, 'blobs');
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();
}

/**
 * Checks a restarted server against everything acknowledged so far, through the API and on
 * disk.
 */
async function verify(server: ChildServer, dataDir: string, token: string, acked: Acked[]) {
  const listed: Array<{ image_id: string; url: string; thumb_url: string; type: string }> = [];
  let total = -1;
  for (let page = 1; ; page++) {
    const res = await fetch(`${server.url}/api/images?access_token=${token}&per_page=100&page=${page}`);
    expect(res.status).toBe(200);
    total = Number(res.headers.get('x-total-count'));
    const rows = (await res.json()) as typeof listed;
    if (rows.length === 0) break;
    listed.push(...rows);
  }
  expect(total).toBe(listed.length);
  const byId = new Map(listed.map((image) => [image.image_id, image]));
  expect(byId.size).toBe(listed.length);

  // Every acknowledged upload is there.
  const missing = acked.filter((a) => !byId.has(a.imageId)).map((a) => a.imageId);
  expect(missing).toEqual([]);

  // Every listed image (acknowledged or cut off after its commit) serves exactly bytes we sent.
  const ackedHash = new Map(acked.map((a) => [a.imageId, a.hash]));
  const expectedFiles = new Set<string>();
  for (const image of listed) {
    const raw = await fetch(image.url);
    expect(raw.status).toBe(200);
    const bytes = Buffer.from(await raw.arrayBuffer());
    const hash = sha256(bytes);
    expect(sent.get(hash)?.equals(bytes), `${image.image_id} serves bytes nobody uploaded`).toBe(true);
    if (ackedHash.has(image.image_id)) expect(hash).toBe(ackedHash.get(image.image_id));
    expect(image.type).toBe('png');
    const thumb = await fetch(image.thumb_url);
    expect(thumb.status).toBe(200);
    await thumb.arrayBuffer();
    expectedFiles.add(path.join('orig', hash.slice(0, 2), hash));
    expectedFiles.add(path.join('thumb', String(THUMB_SIZE), hash.slice(0, 2), hash));
  }

  // On disk: exactly the images' files. Nothing missing, no orphan, no temporary file.
  expect(await blobFiles(dataDir)).toEqual([...expectedFiles].sort());

  // And the database agrees with itself: no upload left pending, counters match the rows.
  const db = new Database(sqliteFile(dataDir), { readonly: true, fileMustExist: true });
  try {
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    expect(count('SELECT count(*) AS n FROM pending_blobs')).toBe(0);
    expect(count('SELECT count(*) AS n FROM images')).toBe(listed.length);
    expect(count("SELECT image_count AS n FROM users WHERE name = 'crash'")).toBe(listed.length);
  } finally {
    db.close();
  }
  return listed.length;
}

// Child processes start slowly on a busy machine: more room than the default 60 s.
describe('crash safety: SIGKILL during concurrent uploads', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    const sizes: Array<[number, number]> = [
      [960, 540],
      [1280, 720],
      [1600, 900],
    ];
    bank = [];
    for (let seed = 1; seed <= 100; seed++) {
      const [w, h] = sizes[seed % sizes.length] as [number, number];
      bank.push(await screenshotPng(w, h, seed));
    }
    duplicates = [];
    for (let seed = 1001; seed <= 1003; seed++) duplicates.push(await screenshotPng(1280, 720, seed));
    for (const bytes of [...bank, ...duplicates]) sent.set(sha256(bytes), bytes);
    expect(sent.size).toBe(bank.length + duplicates.length);
  });

  afterAll(async () => {
    await killChildren();
    await Promise.all(dataDirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });

  it('keeps every acknowledged upload and leaves no orphan file', async () => {
    // The kill lands at a different moment every time; a few attempts make it likely that one
    // catches an upload inside the server (pending row, blob files half done). The checks hold
    // for every attempt, whatever the timing.
    const pool = poolOf(bank.slice(0, 30));
    const attempts: Array<StreamResult & { pending: number; extraFiles: number }> = [];
    for (const killAfter of [6, 3, 9, 5]) {
      const dataDir = await makeDataDir();
      dataDirs.push(dataDir);
      const token = await createAccount(dataDir);

      const server = await spawnServer(dataDir);
      const stream = await uploadStream(server, token, pool, killAfter);
      expect(stream.unexpected).toEqual([]);
      expect(stream.acked.length).toBeGreaterThan(0);
      const atKill = await stateAtKill(dataDir);
      attempts.push({ ...stream, ...atKill });

      const restarted = await spawnServer(dataDir);
      await verify(restarted, dataDir, token, stream.acked);
      await restarted.stop('SIGKILL');

      if (stream.inFlightAtKill > 0 && atKill.pending > 0) break;
    }
    // By construction the kill goes out while requests are outstanding (unless the pool ran out).
    expect(attempts.some((a) => a.inFlightAtKill > 0)).toBe(true);
    console.info(
      'crash attempts:',
      attempts
        .map(
          (a) =>
            `acked ${a.acked.length}, cut off ${a.cutOff}, in flight ${a.inFlightAtKill}, ` +
            `pending rows ${a.pending}, files to sweep ${a.extraFiles}`,
        )
        .join(' | '),
    );
  });

  it('a kill in the middle of a request body leaves no staged file behind', async () => {
    const dataDir = await makeDataDir();
    dataDirs.push(dataDir);
    const token = await createAccount(dataDir);
    const server = await spawnServer(dataDir);
    const image = bank[0] as Buffer;
    const boundary = 'crash-boundary';
    const req = http.request(`${server.url}/api/upload?access_token=${token}`, {
      method: 'POST',
      headers: {
        'Content-Type': `multipart/form-data; boundary=${boundary}`,
        'Transfer-Encoding': 'chunked',
      },
    });
    req.on('error', () => undefined);
    req.write(`--${boundary}\r\nContent-Disposition: form-data; name="imagedata"; filename="a.png"\r\n\r\n`);
    // Past the size kept in memory, so that the body streams to a staged file as it arrives
    // (a smaller one is written only once whole): wait until that file exists, then kill.
    req.write(
      Buffer.concat([image.subarray(0, image.length >> 1), Buffer.alloc(KEEP_IN_MEMORY_BYTES, 0x42)]),
    );
    const staged = path.join(dataDir, 'blobs', 'tmp');
    const deadline = Date.now() + 10_000;
    while (!(await fs.readdir(staged).catch(() => [])).some((f) => f.endsWith('.part'))) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 20));
    }
    await server.stop('SIGKILL');
    req.destroy();
    expect((await blobFiles(dataDir)).some((f) => f.startsWith('tmp'))).toBe(true);

    const restarted = await spawnServer(dataDir);
    expect(await verify(restarted, dataDir, token, [])).toBe(0);
    await restarted.stop('SIGKILL');
  });

  it('survives repeated kills on the same data dir', async () => {
    const dataDir = await makeDataDir();
    dataDirs.push(dataDir);
    const token = await createAccount(dataDir);
    const acked: Acked[] = [];
    let server = await spawnServer(dataDir);
    const rounds = [
      { killAfter: 4, distinct: bank.slice(30, 52) },
      { killAfter: 7, distinct: bank.slice(52, 76) },
      { killAfter: 2, distinct: bank.slice(76, 100) },
    ];
    let listed = 0;
    for (const round of rounds) {
      const stream = await uploadStream(server, token, poolOf(round.distinct), round.killAfter);
      expect(stream.unexpected).toEqual([]);
      acked.push(...stream.acked);
      server = await spawnServer(dataDir);
      const now = await verify(server, dataDir, token, acked);
      expect(now).toBeGreaterThanOrEqual(listed);
      listed = now;
    }
    // A clean stop after all that: SIGTERM closes and exits 0, and a last check still holds.
    server.proc.kill('SIGTERM');
    expect(await server.exited).toEqual({ code: 0, signal: null });
    server = await spawnServer(dataDir);
    expect(await verify(server, dataDir, token, acked)).toBe(listed);
    await server.stop('SIGKILL');
  });
});
