/**
 * `npm run bench`: Gazo, as `npm start` runs it (compiled dist/), against baselines measured in
 * the same run on the same machine, each its own process on 127.0.0.1:
 *
 *   list    GET /api/images (20 per page, a user with 100,000 images): page 1, a deep page, and
 *           every request a new page (uncached) vs bare node:http answering page 1's JSON from
 *           memory (and bare Fastify, for information). Load: wrk.
 *   raw     GET /<image_id>.png of a ~200 KB PNG vs nginx sendfile (and node:http from memory).
 *           Load: wrk.
 *   upload  POST /api/upload of 1920×1080 screenshot PNGs (unique bytes each time): one client
 *           (latency), 8 clients (throughput), 8 clients with chunked streamed bodies, vs a bare
 *           node:http ingest (busboy, SHA-256, write, fsync, 200); the thumbnails for them vs
 *           sharp alone (over the uploads and the drain, the target; and over the drain alone,
 *           for information: they wait for the uploads to stop); Gazo's RSS while the clients
 *           upload (the target), and until their thumbnails are made (for information); and, for
 *           information, list page 1 polled on 2 connections while the 8 clients upload, against
 *           the same with no uploads.
 *   shared  the same list and upload load on PostgreSQL + S3 (a throwaway cluster and s3rver,
 *           seeded with the same rows), against the SQLite + folder figures above; then two
 *           `serve --no-jobs` processes on them at once against one (the load split between
 *           them), one `gazo worker` beside them doing the jobs in both cases.
 *   gif     6 clients each uploading 100-megapixel single-colour GIFs (~70 KB each): Gazo's
 *           peak RSS above idle (issue #5). Runs once, last.
 *
 * Each figure is the median of BENCH_RUNS runs, Gazo and its baseline measured back to back in
 * alternating order. Beside throughput: the server's CPU time per request (from /proc), the CPU
 * the load generator used (a saturated generator measures itself), and how far each baseline
 * runs above Gazo (a ratio against a baseline that is not well above Gazo shows a shared
 * ceiling, not Gazo's cost). The report says when either happens.
 *
 * Settings (environment): BENCH_RUNS (3), BENCH_SECONDS (5), BENCH_WARMUP (1), BENCH_CONNECTIONS
 * (32, wrk), BENCH_WRK_THREADS (1), BENCH_UPLOAD_CLIENTS (8), BENCH_IMAGES (100000),
 * BENCH_DEEP_PAGE (4000), BENCH_GIF_CLIENTS (6), BENCH_GIF_UPLOADS (2 per client), BENCH_RSS_CAP_MB
 * (3000: the GIF scenario stops Gazo past it), BENCH_ONLY (e.g. "list,raw"), BENCH_GAZO_NODE_ARGS
 * (extra node flags for Gazo, e.g. "--cpu-prof --cpu-prof-dir=.bench/prof"), BENCH_GAZO_ENV (Gazo's own
 * settings for the run, e.g. "GAZO_LIST_CACHE_BYTES=0": other GAZO_* variables are not passed), BENCH_KEEP.
 */
import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { LIST_PAGE_CACHE_BYTES } from '../src/http/list-page-cache.ts';
import { screenshotPng } from '../test/helpers/images.ts';
import { quietProcess } from './cpu.ts';
import { startFlags, startGazoServer } from './gazo-process.ts';
import { solidGif } from './gif.ts';
import { nginxInstalled, startNginx } from './nginx.ts';
import { freePort, runChild, type Started, startChild, stopAll, tsNode } from './procs.ts';
import { type Measured, report } from './report.ts';
import type { LoadResult } from './result.ts';
import { peakRssDuring, rssMb } from './rss.ts';
import { seed } from './seed.ts';
import { type SharedBackends, startSharedBackends, startSharedServer, startSharedWorker } from './shared.ts';
import type { SharpSpec } from './sharp-baseline.ts';
import type { UploadSpec } from './upload-client.ts';
import { type WrkSpec, wrkInstalled, wrkLoad } from './wrk.ts';

function numEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}, got "${raw}"`);
  return n;
}

const settings = {
  runs: Math.floor(numEnv('BENCH_RUNS', 3)),
  seconds: numEnv('BENCH_SECONDS', 5),
  warmupSeconds: numEnv('BENCH_WARMUP', 1, 0),
  connections: Math.floor(numEnv('BENCH_CONNECTIONS', 32)),
  wrkThreads: Math.floor(numEnv('BENCH_WRK_THREADS', 1)),
  uploadClients: Math.floor(numEnv('BENCH_UPLOAD_CLIENTS', 8)),
  images: Math.floor(numEnv('BENCH_IMAGES', 100_000)),
  deepPage: Math.floor(numEnv('BENCH_DEEP_PAGE', 4000)),
  gifClients: Math.floor(numEnv('BENCH_GIF_CLIENTS', 6)),
  gifUploads: Math.floor(numEnv('BENCH_GIF_UPLOADS', 2)),
  rssCapMb: numEnv('BENCH_RSS_CAP_MB', 3000),
  perPage: 20,
  only: (process.env.BENCH_ONLY ?? 'list,raw,upload,shared,gif').split(',').map((s) => s.trim()),
};
const gazoNodeArgs = (process.env.BENCH_GAZO_NODE_ARGS ?? '').split(' ').filter(Boolean);
const gazoEnv = Object.fromEntries(
  (process.env.BENCH_GAZO_ENV ?? '')
    .split(' ')
    .filter(Boolean)
    .map((pair) => {
      const [name, value] = pair.split('=', 2);
      if (!name?.startsWith('GAZO_') || value === undefined)
        throw new Error(`BENCH_GAZO_ENV takes GAZO_NAME=value pairs, got "${pair}"`);
      return [name, value];
    }),
);

const log = (msg: string) => process.stderr.write(`${msg}\n`);
// A child's NaN (no successful request) arrives as JSON null.
const fmt = (n: number | null, digits = 0) =>
  n === null || Number.isNaN(n)
    ? 'n/a'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

const measured: Measured = { series: new Map(), notes: [] };

function record(key: string, label: string, result: LoadResult) {
  let s = measured.series.get(key);
  if (!s) {
    s = { label, runs: [] };
    measured.series.set(key, s);
  }
  s.runs.push(result);
  const bad = result.non2xx + result.errors + result.timeouts;
  const extra =
    (result.cpuUsPerOp === undefined ? '' : `  CPU ${fmt(result.cpuUsPerOp)} µs/op`) +
    (result.generatorCores === undefined ? '' : `  generator ${result.generatorCores.toFixed(2)} cores`) +
    (result.otherCores === undefined ? '' : `  other load ${result.otherCores.toFixed(2)} cores`);
  log(
    `  ${label.padEnd(34)} ${fmt(result.rps, result.rps < 100 ? 1 : 0).padStart(8)}/s  p50 ${fmt(result.p50, 1)} ms  p99 ${fmt(result.p99, 1)} ms${extra}` +
      (bad
        ? `  (!! ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts${result.firstRefusal ? `; first: ${result.firstRefusal}` : ''})`
        : ''),
  );
}

/** Runs one of the bench's child scripts with its spec; its last line of output is the result. */
async function child(script: string, spec: UploadSpec | SharpSpec, label: string, timeoutS: number) {
  const [cmd, args] = tsNode(script, JSON.stringify(spec));
  const out = await runChild(cmd, args, { timeoutMs: timeoutS * 1000, label });
  return JSON.parse(out.trim().split('\n').pop() ?? '') as LoadResult;
}

async function check(res: Response, what: string): Promise<Response> {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

/** Files under `dir`, recursively (0 when it does not exist yet). */
async function countFiles(dir: string): Promise<number> {
  try {
    return (await fs.readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).length;
  } catch {
    return 0;
  }
}

/**
 * Counts originals and thumbnails under `blobs` now (`before`: the thumbnails); `thumbs()` counts
 * the thumbnails again; `settled()` waits (at most 2 min) until every original added since has
 * its thumbnail (every upload is unique bytes): the background work of the uploads made in
 * between, warm-up ones included, is done.
 */
async function thumbnailsOf(
  blobs: string,
): Promise<{ before: number; thumbs(): Promise<number>; settled(): Promise<void> }> {
  const thumbs = () => countFiles(path.join(blobs, 'thumb'));
  const count = async () => ({ thumbs: await thumbs(), origs: await countFiles(path.join(blobs, 'orig')) });
  const before = await count();
  return {
    before: before.thumbs,
    thumbs,
    async settled() {
      for (const deadline = performance.now() + 120_000; performance.now() < deadline; ) {
        const now = await count();
        if (now.thumbs - before.thumbs >= now.origs - before.origs) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** Two loads run at once, as one figure: throughput and counts add up, latencies are the worse. */
function together(results: LoadResult[]): LoadResult {
  const sum = (pick: (r: LoadResult) => number) => results.reduce((n, r) => n + pick(r), 0);
  const max = (pick: (r: LoadResult) => number | undefined) =>
    Math.max(...results.map((r) => pick(r) ?? Number.NaN));
  const ok = sum((r) => r.ok);
  const cpu = results.every((r) => r.cpuUsPerOp !== undefined)
    ? sum((r) => (r.cpuUsPerOp ?? 0) * r.ok) / Math.max(ok, 1)
    : undefined;
  return {
    rps: sum((r) => r.rps),
    p50: max((r) => r.p50),
    p99: max((r) => r.p99),
    ok,
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    seconds: max((r) => r.seconds),
    cpuUsPerOp: cpu,
    otherCores: max((r) => r.otherCores),
    generatorCores: max((r) => r.generatorCores),
  };
}

/** Waits (at most 2 min) until the shared database has no job left to run: thumbnails of the last uploads made. */
async function sharedJobsDone(databaseUrl: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const deadline = performance.now() + 120_000;
    while (performance.now() < deadline) {
      const { rows } = await client.query<{ n: string }>(
        'SELECT count(*) AS n FROM jobs WHERE failed_at IS NULL',
      );
      if (Number(rows[0]?.n) === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await client.end();
  }
}

async function main() {
  const tmp = await fs.mkdtemp(path.join((await import('node:os')).tmpdir(), 'gazo-bench-'));
  const started: Array<Started | undefined> = [];
  const has = (name: string) => settings.only.includes(name);
  let shared: SharedBackends | undefined;
  try {
    log(`bench: tmp dir ${tmp}`);
    // Also on Ctrl-C, which exits without running the `finally` below.
    if (!process.env.BENCH_KEEP) process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
    const haveWrk = await wrkInstalled();
    if (!haveWrk && (has('list') || has('raw'))) {
      log('wrk not installed: list and raw skipped (apt-get install wrk)');
      measured.notes.push(
        'wrk not installed: the list and raw scenarios were skipped (`apt-get install wrk`).',
      );
    }

    // What `npm start` runs: the compiled code, built from the sources as they are now.
    log('bench: npm run build');
    await runChild('npm', ['run', '--silent', 'build'], { timeoutMs: 120_000, label: 'npm run build' });

    const dataDir = path.join(tmp, 'data');
    const seeded = await seed(dataDir, settings.images);
    log(`bench: seeded ${fmt(settings.images)} images in ${seeded.seconds.toFixed(1)} s`);
    if (has('shared')) {
      // Before the SQLite server starts on the data dir: the same rows (and tokens) in PostgreSQL.
      shared = await startSharedBackends(dataDir);
      log(
        `bench: PostgreSQL + s3rver up, ${fmt(shared.copy.rows)} rows copied in ${shared.copy.seconds.toFixed(1)} s`,
      );
      measured.notes.push(
        `PostgreSQL + S3: a throwaway PostgreSQL 15 cluster (fsync off, as the tests run it) and s3rver on 127.0.0.1, seeded by migrate-data's row copy (${fmt(shared.copy.rows)} rows in ${shared.copy.seconds.toFixed(1)} s); as in production the servers run \`serve --no-jobs\` and one \`gazo worker\` beside them makes the thumbnails (for one server and for two alike); CPU µs/op counts the serving processes only, not the worker, PostgreSQL or s3rver.`,
      );
    }

    // Images, made here: the raw-serving PNG (~200 KB) and a few distinct 1920×1080 screenshots.
    const rawPng = await screenshotPng(1600, 900, 7);
    const www = path.join(tmp, 'www');
    await fs.mkdir(www, { recursive: true });
    await fs.writeFile(path.join(www, 'raw.png'), rawPng);
    const uploadFiles: string[] = [];
    for (let seedNo = 1; seedNo <= 4; seedNo++) {
      const file = path.join(tmp, `upload-${seedNo}.png`);
      await fs.writeFile(file, await screenshotPng(1920, 1080, seedNo));
      uploadFiles.push(file);
    }
    const uploadSize = (await fs.stat(uploadFiles[0] as string)).size;
    const gifFile = path.join(tmp, 'big.gif');
    await fs.writeFile(gifFile, solidGif(9999, 10000));

    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GAZO_')));
    // OCR off: every uploaded screenshot would queue a second of OCR, and that backlog would be
    // measured in the list and raw rows of the next run. `npm run bench:ocr` measures OCR.
    env.GAZO_OCR = 'off';
    const start = await startFlags();
    Object.assign(env, start.env, gazoEnv);
    const flags = [...start.flags, ...gazoNodeArgs];
    const { server: gazo, url: gazoUrl } = await startGazoServer({
      dataDir,
      nodeFlags: flags,
      env,
      label: 'gazo serve',
    });
    started.push(gazo);
    const gazoPid = gazo.child.pid as number;
    if (/running the TypeScript sources/.test(gazo.stderr()))
      throw new Error(`gazo ran the sources: ${gazo.stderr()}`);
    await new Promise((r) => setTimeout(r, 2000));
    measured.rssIdleMb = rssMb(gazoPid);
    log(
      `bench: gazo (${Object.entries({ ...start.env, ...gazoEnv })
        .map(([k, v]) => `${k}=${v} `)
        .join('')}node ${flags.join(' ')}) idle RSS ${fmt(measured.rssIdleMb ?? Number.NaN)} MB`,
    );

    // On PostgreSQL + S3 as in production: `serve --no-jobs` processes and one `gazo worker` doing
    // the jobs of both. Two servers (the second only loaded in the two-server rows).
    const pgServers = shared
      ? [
          await startSharedServer(shared, tmp, 'pg-a', flags, env),
          await startSharedServer(shared, tmp, 'pg-b', flags, env),
        ]
      : [];
    started.push(...pgServers.map((s) => s.server));
    if (shared) started.push(await startSharedWorker(shared, tmp, flags, env));
    const listAuth = { Authorization: `Bearer ${seeded.listToken}` };
    const uploadAuth = { Authorization: `Bearer ${seeded.uploadToken}` };

    // The pages, checked once; page 1's exact bytes are what the list baseline answers.
    const lastPage = Math.ceil(settings.images / settings.perPage);
    const deepPage = Math.min(settings.deepPage, lastPage);
    const listPath = (page: number) => `/api/images?page=${page}&per_page=${settings.perPage}`;
    const listUrl = (page: number) => `${gazoUrl}${listPath(page)}`;
    for (const { url } of pgServers) {
      const res = await check(
        await fetch(`${url}${listPath(1)}`, { headers: listAuth }),
        'PostgreSQL list page 1',
      );
      await res.arrayBuffer();
      if (res.headers.get('x-total-count') !== String(settings.images))
        throw new Error(`PostgreSQL list: X-Total-Count is ${res.headers.get('x-total-count')}`);
    }
    const page1 = await check(await fetch(listUrl(1), { headers: listAuth }), 'list page 1');
    if (page1.headers.get('x-total-count') !== String(settings.images)) {
      throw new Error(`list: X-Total-Count is ${page1.headers.get('x-total-count')}, not ${settings.images}`);
    }
    const page1Body = Buffer.from(await page1.arrayBuffer());
    if (has('list') && lastPage * page1Body.length <= LIST_PAGE_CACHE_BYTES) {
      measured.notes.push(
        `only ${lastPage} pages, which all fit in Gazo's page cache: the "new page" row measures cache hits.`,
      );
    }
    const deep = (await (
      await check(await fetch(listUrl(deepPage), { headers: listAuth }), 'deep page')
    ).json()) as Array<{ image_id: string }>;
    if (deep.length !== Math.min(settings.perPage, settings.images - (deepPage - 1) * settings.perPage)) {
      throw new Error(`list: page ${deepPage} has ${deep.length} images`);
    }
    const listJson = path.join(tmp, 'list.json');
    await fs.writeFile(listJson, page1Body);

    // The raw file: uploaded through the API, then fetched back byte for byte.
    const body = new FormData();
    body.append('imagedata', new Blob([new Uint8Array(rawPng)]), 'gyazo.com');
    const uploaded = (await (
      await check(
        await fetch(`${gazoUrl}/api/upload`, { method: 'POST', headers: uploadAuth, body }),
        'upload',
      )
    ).json()) as { image_id: string };
    const rawPath = `/${uploaded.image_id}.png`;
    const back = Buffer.from(await (await check(await fetch(`${gazoUrl}${rawPath}`), 'raw')).arrayBuffer());
    if (!back.equals(rawPng)) throw new Error('raw: Gazo answered different bytes');
    // Its thumbnail and OCR run in the background: not while the raw file is measured.
    if (!(await quietProcess(gazoPid)))
      measured.notes.push('gazo was still busy a minute after the raw upload.');

    // Baselines.
    const startBaseline = async (script: string, label: string, ...args: string[]) => {
      const port = await freePort();
      const [cmd, cmdArgs] = tsNode(script, String(port), ...args);
      const s = await startChild(cmd, cmdArgs, /listening/, { label });
      started.push(s);
      return { server: s, url: `http://127.0.0.1:${port}` };
    };
    const listBase = await startBaseline(
      'baseline-http.ts',
      'list baseline',
      listJson,
      'application/json; charset=utf-8',
    );
    const fastifyBase = await startBaseline('baseline-fastify.ts', 'fastify baseline', listJson);
    const rawBase = await startBaseline(
      'baseline-http.ts',
      'raw baseline',
      path.join(www, 'raw.png'),
      'image/png',
    );
    const ingestBase = await startBaseline('baseline-ingest.ts', 'ingest baseline', path.join(tmp, 'ingest'));
    let nginxUrl: string | undefined;
    let nginx: Started | undefined;
    if (has('raw') && haveWrk) {
      if (await nginxInstalled()) {
        const port = await freePort();
        nginx = await startNginx(path.join(tmp, 'nginx'), www, port);
        started.push(nginx);
        nginxUrl = `http://127.0.0.1:${port}/raw.png`;
        const viaNginx = Buffer.from(await (await check(await fetch(nginxUrl), 'nginx')).arrayBuffer());
        if (!viaNginx.equals(rawPng)) throw new Error('nginx answered different bytes');
      } else {
        log('nginx not installed: skipped');
        measured.notes.push(
          'nginx not installed: raw serving was compared with node:http only (`apt-get install nginx`).',
        );
      }
    }

    const get = (server: Started, url: string, headers?: Record<string, string>): WrkSpec => ({
      url,
      headers,
      serverGroup: server.child.pid,
      threads: settings.wrkThreads,
      connections: settings.connections,
      seconds: settings.seconds,
      warmupSeconds: settings.warmupSeconds,
      scratchDir: tmp,
    });
    const uploads = (
      server: Started,
      url: string,
      clients: number,
      extra: Partial<UploadSpec> = {},
    ): UploadSpec => ({
      url,
      headers: uploadAuth,
      connections: clients,
      seconds: settings.seconds,
      warmupSeconds: settings.warmupSeconds,
      files: uploadFiles,
      kind: 'png',
      serverGroup: server.child.pid,
      ...extra,
    });
    const upload = (spec: UploadSpec) =>
      child('upload-client.ts', spec, 'upload client', (spec.seconds ?? 600) + spec.warmupSeconds + 120);
    const blobsDir = path.join(dataDir, 'blobs');
    const thumbDir = path.join(blobsDir, 'thumb');

    for (let run = 1; run <= settings.runs; run++) {
      log(`run ${run}/${settings.runs}`);
      // Alternate who goes first, so drift over a run does not favour one side.
      const pair = async (a: () => Promise<void>, b: () => Promise<void>) => {
        if (run % 2) {
          await a();
          await b();
        } else {
          await b();
          await a();
        }
      };
      if (has('list') && haveWrk) {
        await pair(
          async () => record('list-p1', 'gazo list page 1', await wrkLoad(get(gazo, listUrl(1), listAuth))),
          async () =>
            record('list-base', 'node:http JSON', await wrkLoad(get(listBase.server, listBase.url))),
        );
        record(
          'list-deep',
          `gazo list page ${fmt(deepPage)}`,
          await wrkLoad(get(gazo, listUrl(deepPage), listAuth)),
        );
        record(
          'list-cold',
          'gazo list, uncached pages',
          await wrkLoad({
            ...get(gazo, gazoUrl, listAuth),
            pages: { path: `/api/images?page={page}&per_page=${settings.perPage}`, count: lastPage },
          }),
        );
        record('list-fastify', 'bare Fastify JSON', await wrkLoad(get(fastifyBase.server, fastifyBase.url)));
        measured.rssAfterListMb = Math.max(measured.rssAfterListMb ?? 0, rssMb(gazoPid) ?? 0);
      }
      if (has('raw') && haveWrk) {
        await pair(
          async () => record('raw', 'gazo raw PNG', await wrkLoad(get(gazo, `${gazoUrl}${rawPath}`))),
          async () => {
            if (nginx && nginxUrl) record('raw-nginx', 'nginx raw PNG', await wrkLoad(get(nginx, nginxUrl)));
            record(
              'raw-node',
              'node:http raw PNG',
              await wrkLoad(get(rawBase.server, `${rawBase.url}/raw.png`)),
            );
          },
        );
      }
      if (has('upload')) {
        await pair(
          async () => {
            const thumbnails = await thumbnailsOf(blobsDir);
            record('up1', 'gazo upload, 1 client', await upload(uploads(gazo, `${gazoUrl}/api/upload`, 1)));
            // Gazo's thumbnails for these are made once the uploads stop: wait for them, outside
            // the figure, so that they do not run beside the baseline measured next.
            await thumbnails.settled();
          },
          async () =>
            record(
              'up1-base',
              'bare ingest, 1 client',
              await upload(uploads(ingestBase.server, ingestBase.url, 1)),
            ),
        );
        await pair(
          async () => {
            const thumbnails = await thumbnailsOf(blobsDir);
            const t0 = performance.now();
            let drain = { from: 0, thumbs: 0 };
            let uploadPeakMb: number | undefined;
            const { value, peakMb } = await peakRssDuring(gazoPid, async () => {
              // The target is the memory while the clients upload; with their thumbnails after, for information.
              const during = await peakRssDuring(gazoPid, () =>
                upload(uploads(gazo, `${gazoUrl}/api/upload`, settings.uploadClients)),
              );
              uploadPeakMb = during.peakMb;
              drain = { from: performance.now(), thumbs: await thumbnails.thumbs() };
              // Thumbnails made in the background are done when their files exist.
              await thumbnails.settled();
              return during.value;
            });
            const thumbsAfter = await thumbnails.thumbs();
            const made = thumbsAfter - thumbnails.before;
            const elapsed = (performance.now() - t0) / 1000;
            const drainSeconds = (performance.now() - drain.from) / 1000;
            record('up8', `gazo uploads, ${settings.uploadClients} clients`, value);
            record('thumbs', 'gazo thumbnails made', {
              ...value,
              // Warm-up uploads make thumbnails too: all of them over the whole time.
              rps: made / elapsed,
              ok: made,
              p50: Number.NaN,
              p99: Number.NaN,
              cpuUsPerOp: undefined,
              generatorCores: undefined,
            });
            // The same thumbnails counted from the moment the uploads stopped (they wait for that).
            record('thumbs-drain', 'gazo thumbnails after the uploads', {
              ...value,
              rps: (thumbsAfter - drain.thumbs) / drainSeconds,
              ok: thumbsAfter - drain.thumbs,
              p50: Number.NaN,
              p99: Number.NaN,
              cpuUsPerOp: undefined,
              generatorCores: undefined,
            });
            measured.rssUploadPeakMb = Math.max(measured.rssUploadPeakMb ?? 0, uploadPeakMb ?? 0);
            measured.rssThumbnailsPeakMb = Math.max(measured.rssThumbnailsPeakMb ?? 0, peakMb ?? 0);
          },
          async () => {
            record(
              'up8-base',
              `bare ingest, ${settings.uploadClients} clients`,
              await upload(uploads(ingestBase.server, ingestBase.url, settings.uploadClients)),
            );
            record(
              'up8-sharp',
              'sharp alone',
              await child(
                'sharp-baseline.ts',
                {
                  files: uploadFiles,
                  concurrency: settings.uploadClients,
                  seconds: settings.seconds,
                  warmupSeconds: settings.warmupSeconds,
                },
                'sharp baseline',
                settings.seconds + settings.warmupSeconds + 90,
              ),
            );
          },
        );
        await pair(
          async () => {
            const thumbnails = await thumbnailsOf(blobsDir);
            record(
              'up8c',
              'gazo uploads, chunked',
              await upload(uploads(gazo, `${gazoUrl}/api/upload`, settings.uploadClients, { chunked: true })),
            );
            await thumbnails.settled();
          },
          async () =>
            record(
              'up8c-base',
              'bare ingest, chunked',
              await upload(
                uploads(ingestBase.server, ingestBase.url, settings.uploadClients, { chunked: true }),
              ),
            ),
        );
        if (haveWrk) {
          // A client polling its list while others upload: what an upload's commit costs everyone else.
          const poll = { ...get(gazo, listUrl(1), listAuth), connections: 2 };
          await pair(
            async () => record('list-quiet', 'list page 1, no uploads', await wrkLoad(poll)),
            async () => {
              const thumbnails = await thumbnailsOf(blobsDir);
              const [listed] = await Promise.all([
                wrkLoad(poll),
                upload(uploads(gazo, `${gazoUrl}/api/upload`, settings.uploadClients)),
              ]);
              // The server's CPU and the machine's other load are the uploads' here, by design.
              record('list-busy', `list page 1, ${settings.uploadClients} clients uploading`, {
                ...listed,
                cpuUsPerOp: undefined,
                otherCores: undefined,
              });
              await thumbnails.settled();
            },
          );
        }
      }
      const [pgA, pgB] = pgServers;
      if (has('shared') && pgA && pgB && shared) {
        const databaseUrl = shared.databaseUrl;
        if (haveWrk) {
          record(
            'pg-list-p1',
            'PG+S3 list page 1',
            await wrkLoad(get(pgA.server, `${pgA.url}${listPath(1)}`, listAuth)),
          );
          record(
            'pg-list-cold',
            'PG+S3 list, uncached pages',
            await wrkLoad({
              ...get(pgA.server, pgA.url, listAuth),
              pages: { path: `/api/images?page={page}&per_page=${settings.perPage}`, count: lastPage },
            }),
          );
          const half = Math.max(1, Math.floor(settings.connections / 2));
          record(
            'pg2-list',
            'PG+S3 list page 1, 2 servers',
            together(
              await Promise.all(
                [pgA, pgB].map((s) =>
                  wrkLoad({ ...get(s.server, `${s.url}${listPath(1)}`, listAuth), connections: half }),
                ),
              ),
            ),
          );
        }
        record(
          'pg-up8',
          `PG+S3 uploads, ${settings.uploadClients} clients`,
          await upload(uploads(pgA.server, `${pgA.url}/api/upload`, settings.uploadClients)),
        );
        await sharedJobsDone(databaseUrl);
        const halfClients = Math.max(1, Math.floor(settings.uploadClients / 2));
        record(
          'pg2-up8',
          `PG+S3 uploads, 2 servers × ${halfClients}`,
          together(
            await Promise.all(
              [pgA, pgB].map((s) => upload(uploads(s.server, `${s.url}/api/upload`, halfClients))),
            ),
          ),
        );
        await sharedJobsDone(databaseUrl);
      }
    }

    if (has('gif')) {
      // Last: it may take Gazo's memory far up, or make the bench stop it.
      log(`gif: ${settings.gifClients} clients × ${settings.gifUploads} uploads of a 9999×10000 GIF`);
      const before = rssMb(gazoPid);
      const thumbsBefore = await countFiles(thumbDir);
      let stopped = false;
      const { value, peakMb, capped } = await peakRssDuring(
        gazoPid,
        async () => {
          const result = await upload({
            ...uploads(gazo, `${gazoUrl}/api/upload`, settings.gifClients),
            seconds: undefined,
            perConnection: settings.gifUploads,
            warmupSeconds: 0,
            files: [gifFile],
            kind: 'gif',
          }).catch((err: Error) => {
            if (stopped) return undefined;
            throw err;
          });
          // The upload answers before decoding: the memory peak comes with the thumbnails.
          const deadline = performance.now() + 300_000;
          while (
            result &&
            !stopped &&
            (await countFiles(thumbDir)) < thumbsBefore + result.ok &&
            performance.now() < deadline
          ) {
            await new Promise((r) => setTimeout(r, 100));
          }
          return result;
        },
        {
          capMb: settings.rssCapMb,
          onCap: () => {
            stopped = true;
            void gazo.stop();
          },
        },
      );
      if (value) record('gif', 'gazo 100 MP GIF uploads', value);
      measured.gif = {
        idleMb: measured.rssIdleMb,
        beforeMb: before,
        peakMb,
        capped,
        capMb: settings.rssCapMb,
      };
      log(
        `  peak RSS ${fmt(peakMb ?? Number.NaN)} MB (before: ${fmt(before ?? Number.NaN)} MB)` +
          (capped ? `: passed ${fmt(settings.rssCapMb)} MB, Gazo was stopped` : ''),
      );
    }

    await report(measured, {
      settings,
      deepPage,
      rawBytes: rawPng.length,
      uploadSize,
      gifBytes: (await fs.stat(gifFile)).size,
      seedSeconds: seeded.seconds,
      gazoFlags: flags,
    });
  } finally {
    await stopAll(started);
    await shared?.stop();
    if (process.env.BENCH_KEEP) log(`bench: kept ${tmp}`);
    else await fs.rm(tmp, { recursive: true, force: true });
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
}
