import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originalKey, thumbnailKey } from '../../src/blobs/blob-store.ts';
import { S3BlobStore, s3Client } from '../../src/blobs/s3-blob-store.ts';
import { StagingDir } from '../../src/blobs/staging-dir.ts';
import { loadConfig } from '../../src/config.ts';
import { openRuntime } from '../../src/runtime.ts';
import { AccountsService } from '../../src/services/accounts.service.ts';
import { openPostgresStore } from '../../src/store/index.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import {
  type ChildServer,
  cleanEnv,
  freePort,
  GAZO_BIN,
  killChildren,
  REPO_ROOT,
  spawnServer,
} from '../helpers/child.ts';
import { solidPng } from '../helpers/images.ts';
import { queryDatabase, testDatabase } from '../helpers/postgres.ts';
import { startTestS3, TEST_S3_CREDENTIALS, TEST_S3_ENV, type TestS3 } from '../helpers/s3-server.ts';
import { form, makeDataDir } from '../helpers/server.ts';

/**
 * Gazo as a scaled-out deployment runs it: two `gazo serve --no-jobs` processes and one
 * `gazo worker` on one PostgreSQL database and one S3 bucket, each process with a data dir of its
 * own (as on separate hosts). Processes are SIGKILLed mid-load and started again.
 */
describe('two servers and a worker on PostgreSQL and S3', { timeout: 150_000 }, () => {
  let s3: TestS3;
  let database: Awaited<ReturnType<typeof testDatabase>>;
  let store: MetadataStore;
  let token: string;
  let env: Record<string, string>;
  let bucket: S3BlobStore;
  const dirs: string[] = [];
  const servers: ChildServer[] = [];
  let worker: Worker;
  /** Everything every worker process wrote to stderr (its log lines), the killed ones' included. */
  const workerLogs: string[] = [];

  interface Worker {
    proc: ChildProcess;
    exited: Promise<unknown>;
  }

  const dataDir = async () => {
    const dir = await makeDataDir();
    dirs.push(dir);
    return dir;
  };

  const startGazoServer = async (dir: string) => {
    const port = await freePort();
    return spawnServer(undefined, {
      env,
      port,
      args: ['serve', '--no-jobs', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dir],
    });
  };

  const startWorker = async (dir: string): Promise<Worker> => {
    const proc = spawn(process.execPath, [GAZO_BIN, 'worker', '--data-dir', dir], {
      cwd: REPO_ROOT,
      env: cleanEnv({ ...env, GAZO_LOG_LEVEL: 'info' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = workerLogs.push('') - 1;
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      workerLogs[log] += d;
    });
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('Gazo worker running')) resolve();
      });
      proc.on('exit', (code) => reject(new Error(`gazo worker exited (${code}): ${workerLogs[log]}`)));
      setTimeout(
        () => reject(new Error(`gazo worker did not start within 60 s: ${workerLogs[log]}`)),
        60_000,
      ).unref();
    });
    return { proc, exited };
  };

  const kill = async (w: Worker) => {
    w.proc.kill('SIGKILL');
    await w.exited;
  };

  const upload = async (server: ChildServer, bytes: Buffer) => {
    const res = await fetch(`${server.url}/api/upload?access_token=${token}`, {
      method: 'POST',
      body: form({ imagedata: { data: bytes } }),
    });
    if (res.status !== 200) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as { image_id: string; url: string };
  };

  const settle = async (ms = 60_000) => {
    const deadline = Date.now() + ms;
    while ((await store.jobs.countPending()) > 0) {
      if (Date.now() > deadline) throw new Error(`jobs did not settle within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const keysInBucket = async () => {
    const keys: string[] = [];
    for await (const key of bucket.list()) keys.push(key);
    return keys.sort();
  };

  /** Every object in the bucket belongs to an image row, and every row has its original. */
  const expectNoOrphanNorMissing = async () => {
    const rows = await queryDatabase<{ blob_key: string }>(
      database.url,
      'SELECT DISTINCT blob_key FROM images',
    );
    const thumbSize = loadConfig({}, {}).thumbSize;
    const wanted = new Set(
      rows.flatMap((r) => [originalKey(r.blob_key), thumbnailKey(r.blob_key, thumbSize)]),
    );
    const keys = await keysInBucket();
    expect(keys.filter((k) => !wanted.has(k))).toEqual([]);
    const present = new Set(keys);
    expect(rows.filter((r) => !present.has(originalKey(r.blob_key)))).toEqual([]);
    return { rows: rows.length, objects: keys.length };
  };

  /**
   * Stops every gazo process; then every upload still pending is provably dead (the killed
   * server's in-flight ones): collects their bytes, as a start-up would once they are old.
   */
  const stopAllAndCollect = async () => {
    await Promise.all(servers.map((s) => s.stop('SIGTERM')));
    worker.proc.kill('SIGTERM');
    await worker.exited;
    const rt = await openRuntime(
      loadConfig(
        { dataDir: dirs[0] as string, database: database.url, blobs: s3.blobsUrl('gazo'), ocr: false },
        TEST_S3_ENV,
      ),
    );
    try {
      await rt.collector.sweepAfterCrash(Date.now());
      await rt.worker.drain();
    } finally {
      await rt.close();
    }
  };

  beforeAll(async () => {
    s3 = await startTestS3(['gazo']);
    database = await testDatabase();
    store = await openPostgresStore(database.url);
    const accounts = new AccountsService(store);
    await accounts.createUser('scale');
    token = (await accounts.createToken('scale')).token;
    env = {
      ...TEST_S3_ENV,
      GAZO_BLOBS: s3.blobsUrl('gazo'),
      GAZO_DATABASE_URL: database.url,
      GAZO_OCR: 'on',
      GAZO_OCR_LANGUAGES: 'eng',
    };
    const location = { bucket: 'gazo', prefix: '' };
    const client = s3Client({
      ...location,
      region: 'us-east-1',
      endpoint: s3.endpoint,
      credentials: TEST_S3_CREDENTIALS,
    });
    const checkDir = await dataDir();
    bucket = new S3BlobStore(client, location, { staging: new StagingDir(path.join(checkDir, 'check')) });
    const [a, b] = await Promise.all([startGazoServer(await dataDir()), startGazoServer(await dataDir())]);
    servers.push(a as ChildServer, b as ChildServer);
    worker = await startWorker(await dataDir());
  });

  afterAll(async () => {
    if (worker) await kill(worker);
    await killChildren();
    await store?.close();
    await s3?.stop();
    await database?.drop();
    for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged upload through SIGKILLs of a server and the worker, each job done once, no orphan', async () => {
    const CLIENTS = 4;
    const PER_CLIENT = 9;
    const acknowledged: Array<{ image_id: string; url: string; bytes: Buffer }> = [];
    let refused = 0;
    let killed = false;
    const serverDirs = [dirs[1] as string, dirs[2] as string];
    const workerDir = dirs[3] as string;

    const killMidLoad = async () => {
      // One server, then the worker die while uploads are in flight on both servers.
      killed = true;
      await servers[1]?.stop('SIGKILL');
      const serverBack = startGazoServer(serverDirs[1] as string);
      // Kill the worker while it holds a lease (a job in flight), if one comes within 3 s.
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline) {
        const [leased] = await queryDatabase<{ n: number }>(
          database.url,
          'SELECT count(*)::int AS n FROM jobs WHERE locked_until IS NOT NULL',
        );
        if ((leased?.n ?? 0) > 0) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      await kill(worker);
      const [again, w] = await Promise.all([serverBack, startWorker(workerDir)]);
      servers[1] = again;
      worker = w;
    };

    let restart: Promise<void> | undefined;
    let restarted = false;
    const client = async (c: number) => {
      // At least PER_CLIENT uploads each, and on until both killed processes are back.
      for (let i = 0; i < PER_CLIENT || !restarted; i++) {
        const n = i * CLIENTS + c;
        // Distinct bytes for every upload: each is its own image, blob and OCR read.
        const bytes = await solidPng(
          40 + (n % 7),
          30 + (n % 5),
          `#${(0x203040 + n * 0x050301).toString(16).slice(-6)}`,
        );
        // As a client behind a load balancer would: the other server when one does not answer.
        for (const pick of [(c + i) % 2, (c + i + 1) % 2]) {
          try {
            acknowledged.push({ ...(await upload(servers[pick] as ChildServer, bytes)), bytes });
            break;
          } catch {
            refused++; // the killed server (or one not listening again yet): no 200, no promise made
          }
        }
        if (!killed && acknowledged.length >= 12)
          restart = killMidLoad().finally(() => {
            restarted = true;
          });
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    await restart;
    expect(killed).toBe(true);
    expect(refused).toBeGreaterThan(0); // the server died under load
    expect(acknowledged.length).toBeGreaterThan((CLIENTS * PER_CLIENT) / 2);

    await settle();
    // Every acknowledged upload is listed by both servers and served byte-identical by both.
    for (const server of servers) {
      const listed = new Set<string>();
      for (let page = 1; ; page++) {
        const res = await fetch(`${server.url}/api/images?access_token=${token}&per_page=100&page=${page}`);
        expect(res.status).toBe(200);
        const images = (await res.json()) as Array<{ image_id: string }>;
        for (const image of images) listed.add(image.image_id);
        if (images.length < 100) break;
      }
      expect(acknowledged.filter((a) => !listed.has(a.image_id)).map((a) => a.image_id)).toEqual([]);
      for (const image of acknowledged) {
        const raw = await fetch(`${server.url}${new URL(image.url).pathname}`);
        expect(raw.status).toBe(200);
        expect(Buffer.from(await raw.arrayBuffer()).equals(image.bytes)).toBe(true);
      }
    }

    // Each image's thumbnail and OCR job completed exactly once, counted from the workers' logs
    // ("job done" lines, the killed worker's included). A run the SIGKILL cut short never
    // completed: its job was taken over (attempt 2) by the restarted worker at once.
    const done = workerLogs
      .join('')
      .split('\n')
      .filter((l) => l.includes('"job done"'))
      .map((l) => JSON.parse(l) as { kind: string; jobId: number; attempt: number; payload: string });
    const images = await queryDatabase<{ image_id: string; blob_key: string }>(
      database.url,
      'SELECT image_id, blob_key FROM images',
    );
    const ocrDone = new Map<string, number>();
    const thumbsDone = new Map<string, number>();
    for (const job of done) {
      const payload = JSON.parse(job.payload) as { imageId?: string; blobKey?: string };
      if (job.kind === 'ocr.read')
        ocrDone.set(payload.imageId as string, (ocrDone.get(payload.imageId as string) ?? 0) + 1);
      if (job.kind === 'image.thumbnail')
        thumbsDone.set(payload.blobKey as string, (thumbsDone.get(payload.blobKey as string) ?? 0) + 1);
    }
    // Every job completed once: no job id twice, whoever ran it.
    const ids = done.map((j) => j.jobId);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
    expect(images.filter((i) => ocrDone.get(i.image_id) !== 1)).toEqual([]);
    // A thumbnail job is queued per committed upload and names the blob: the same bytes uploaded
    // twice (a client retrying on the other server after a kill, when the first had committed)
    // make two images of one blob and two jobs for it. So: as many as the images that share it.
    const imagesOf = new Map<string, number>();
    for (const i of images) imagesOf.set(i.blob_key, (imagesOf.get(i.blob_key) ?? 0) + 1);
    expect(
      images
        .filter((i) => thumbsDone.get(i.blob_key) !== imagesOf.get(i.blob_key))
        .map((i) => ({
          done: thumbsDone.get(i.blob_key) ?? 0,
          images: imagesOf.get(i.blob_key),
        })),
    ).toEqual([]);
    const taken = done.filter((j) => j.attempt > 1).length;
    console.log(
      `multi-process: ${acknowledged.length} uploads acknowledged, ${refused} attempts refused while a server was down, ` +
        `${images.length} images, ${done.length} jobs done (${taken} taken over from the killed worker at once)`,
    );
  });

  it('never leaves a row without bytes when deletes race uploads of the same bytes on two servers', async () => {
    await settle();
    const bytes = await solidPng(33, 21, '#7a1f5c');
    const [a, b] = servers as [ChildServer, ChildServer];
    let current = [await upload(a, bytes)];
    const ROUNDS = 8;
    let deleted = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Server B deletes every image of these bytes (the blob becomes unused and its collection
      // is queued) while server A uploads the same bytes again at staggered moments, so that
      // some uploads land before, during and after the worker's collection of the blob.
      const deletes = current.map(async (image) => {
        const res = await fetch(`${b.url}/api/images/${image.image_id}?access_token=${token}`, {
          method: 'DELETE',
        });
        expect(res.status).toBe(200);
        deleted++;
      });
      const uploads = [0, 150, 400, 800, 1300].map(async (delay) => {
        await new Promise((r) => setTimeout(r, delay));
        return upload(a, bytes);
      });
      const [, next] = await Promise.all([Promise.all(deletes), Promise.all(uploads)]);
      current = next;
    }
    await settle();
    // Every image row left has its bytes, served by both servers; nothing else is in the bucket.
    for (const server of servers) {
      for (const image of current) {
        const raw = await fetch(`${server.url}${new URL(image.url).pathname}`);
        expect(raw.status).toBe(200);
        expect(Buffer.from(await raw.arrayBuffer()).equals(bytes)).toBe(true);
      }
    }
    // And once all have stopped and the dead uploads' bytes are collected, no orphan anywhere.
    await stopAllAndCollect();
    const { rows, objects } = await expectNoOrphanNorMissing();
    console.log(
      `delete/upload race: ${ROUNDS} rounds, ${deleted} deletes, ${current.length} images left, ${rows} blobs / ${objects} objects`,
    );
  });
});
