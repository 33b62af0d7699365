/**
 * `npm run bench`: Gazo against baselines measured in the same run on the same machine.
 *
 *   list      GET /api/images, 20 per page, for a user with 100,000 images (page 1 and a deep
 *             page) vs a bare node:http server answering the same JSON from memory (and, for
 *             information, bare Fastify doing the same);
 *   raw       GET /<image_id>.png of a ~200 KB PNG vs nginx (when installed) and a bare
 *             node:http server answering the same bytes from memory;
 *   upload    POST /api/upload of a 1920×1080 screenshot-like PNG (unique bytes each time),
 *             8 clients at once, vs sharp alone doing the same decode and thumbnail work.
 *
 * Every server is its own process on 127.0.0.1; the load comes from autocannon in another
 * process. Each figure is the median of BENCH_RUNS runs, measured interleaved with its baseline.
 * Beside throughput, each server's CPU time per request (all its processes, from /proc) is shown:
 * it says where the cost is, and other work on the machine disturbs it less than req/s.
 *
 * Settings (environment): BENCH_RUNS (5), BENCH_SECONDS (5), BENCH_WARMUP (1, seconds before
 * each measurement), BENCH_CONNECTIONS (10), BENCH_UPLOAD_CLIENTS (8), BENCH_IMAGES (100000),
 * BENCH_DEEP_PAGE (4000), BENCH_ONLY (e.g. "list,raw"), BENCH_GAZO_NODE_ARGS (extra node flags
 * for the Gazo process, e.g. "--cpu-prof --cpu-prof-dir=.bench/prof"), BENCH_KEEP (keep the tmp dir).
 */
import { rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { screenshotPng } from '../test/helpers/images.ts';
import type { LoadResult, LoadSpec } from './load.ts';
import { nginxInstalled, startNginx } from './nginx.ts';
import { freePort, ROOT, runChild, type Started, startChild, stopAll, tsNode } from './procs.ts';
import { seed } from './seed.ts';
import type { SharpSpec } from './sharp-baseline.ts';

function numEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}, got "${raw}"`);
  return n;
}

const settings = {
  runs: Math.floor(numEnv('BENCH_RUNS', 5)),
  seconds: numEnv('BENCH_SECONDS', 5),
  warmupSeconds: numEnv('BENCH_WARMUP', 1, 0),
  connections: Math.floor(numEnv('BENCH_CONNECTIONS', 10)),
  uploadClients: Math.floor(numEnv('BENCH_UPLOAD_CLIENTS', 8)),
  images: Math.floor(numEnv('BENCH_IMAGES', 100_000)),
  deepPage: Math.floor(numEnv('BENCH_DEEP_PAGE', 4000)),
  perPage: 20,
  only: (process.env.BENCH_ONLY ?? 'list,raw,upload').split(',').map((s) => s.trim()),
};
const gazoNodeArgs = (process.env.BENCH_GAZO_NODE_ARGS ?? '').split(' ').filter(Boolean);

const log = (msg: string) => process.stderr.write(`${msg}\n`);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
/** autocannon keeps latencies in whole milliseconds. */
const ms = (n: number) => (n < 1 ? '<1 ms' : `${fmt(n)} ms`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? (s[mid] as number)
      : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** One measured thing (a server answering one kind of request, or the sharp baseline). */
interface Series {
  label: string;
  runs: LoadResult[];
}
const series = new Map<string, Series>();
function record(key: string, label: string, result: LoadResult) {
  const cpu =
    (result.cpuUsPerOp === undefined ? '' : `  CPU ${fmt(result.cpuUsPerOp)} µs/op`) +
    (result.otherCores === undefined ? '' : `  other load ${result.otherCores.toFixed(2)} cores`);
  let s = series.get(key);
  if (!s) {
    s = { label, runs: [] };
    series.set(key, s);
  }
  s.runs.push(result);
  const bad = result.non2xx + result.errors + result.timeouts;
  log(
    `  ${label.padEnd(34)} ${fmt(result.rps, result.rps < 100 ? 1 : 0).padStart(8)}/s  p99 ${ms(result.p99)}${cpu}` +
      (bad ? `  (!! ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts)` : ''),
  );
}

/** Runs one of the bench's child scripts with its spec; its last line of output is the result. */
async function measure(script: string, spec: LoadSpec | SharpSpec, label: string): Promise<LoadResult> {
  const [cmd, args] = tsNode(script, JSON.stringify(spec));
  const out = await runChild(cmd, args, {
    timeoutMs: (spec.seconds + spec.warmupSeconds + 90) * 1000,
    label,
  });
  return JSON.parse(out.trim().split('\n').pop() ?? '') as LoadResult;
}

const load = (spec: LoadSpec) => measure('load.ts', spec, 'autocannon');
const sharpAlone = (spec: SharpSpec) => measure('sharp-baseline.ts', spec, 'sharp baseline');

async function check(res: Response, what: string): Promise<Response> {
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

async function main() {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'gazo-bench-'));
  const started: Array<Started | undefined> = [];
  const has = (name: string) => settings.only.includes(name);
  try {
    log(`bench: tmp dir ${tmp}`);
    // Also on Ctrl-C, which exits without running the `finally` below.
    if (!process.env.BENCH_KEEP) process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
    const dataDir = path.join(tmp, 'data');
    const seeded = await seed(dataDir, settings.images);
    log(`bench: seeded ${fmt(settings.images)} images in ${seeded.seconds.toFixed(1)} s`);

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

    // Gazo itself, as operators run it.
    const gazoPort = await freePort();
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GAZO_')));
    const gazo = await startChild(
      process.execPath,
      [
        ...gazoNodeArgs,
        path.join(ROOT, 'bin/gazo.js'),
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        String(gazoPort),
        '--data-dir',
        dataDir,
      ],
      /Gazo listening on/,
      { label: 'gazo serve', env },
    );
    started.push(gazo);
    const gazoUrl = `http://127.0.0.1:${gazoPort}`;
    const listAuth = { Authorization: `Bearer ${seeded.listToken}` };
    const uploadAuth = { Authorization: `Bearer ${seeded.uploadToken}` };

    // The pages, checked once; page 1's exact bytes are what the list baseline answers.
    const lastPage = Math.ceil(settings.images / settings.perPage);
    const deepPage = Math.min(settings.deepPage, lastPage);
    const listUrl = (page: number) => `${gazoUrl}/api/images?page=${page}&per_page=${settings.perPage}`;
    const page1 = await check(await fetch(listUrl(1), { headers: listAuth }), 'list page 1');
    if (page1.headers.get('x-total-count') !== String(settings.images)) {
      throw new Error(`list: X-Total-Count is ${page1.headers.get('x-total-count')}, not ${settings.images}`);
    }
    const page1Body = Buffer.from(await page1.arrayBuffer());
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

    // Baselines.
    const listBasePort = await freePort();
    const [lbCmd, lbArgs] = tsNode(
      'baseline-http.ts',
      String(listBasePort),
      listJson,
      'application/json; charset=utf-8',
    );
    const listBase = await startChild(lbCmd, lbArgs, /listening/, { label: 'list baseline' });
    started.push(listBase);
    const fastifyPort = await freePort();
    const [fbCmd, fbArgs] = tsNode('baseline-fastify.ts', String(fastifyPort), listJson);
    const fastifyBase = await startChild(fbCmd, fbArgs, /listening/, { label: 'fastify baseline' });
    started.push(fastifyBase);
    const rawBasePort = await freePort();
    const [rbCmd, rbArgs] = tsNode(
      'baseline-http.ts',
      String(rawBasePort),
      path.join(www, 'raw.png'),
      'image/png',
    );
    const rawBase = await startChild(rbCmd, rbArgs, /listening/, { label: 'raw baseline' });
    started.push(rawBase);
    let nginx: Started | undefined;
    let nginxUrl: string | undefined;
    if (has('raw')) {
      if (await nginxInstalled()) {
        const port = await freePort();
        nginx = await startNginx(path.join(tmp, 'nginx'), www, port);
        started.push(nginx);
        nginxUrl = `http://127.0.0.1:${port}/raw.png`;
        const viaNginx = Buffer.from(await (await check(await fetch(nginxUrl), 'nginx')).arrayBuffer());
        if (!viaNginx.equals(rawPng)) throw new Error('nginx answered different bytes');
      } else {
        log('nginx not installed: skipped');
      }
    }

    const get = (server: Started, url: string, headers?: Record<string, string>): LoadSpec => ({
      url,
      headers,
      serverGroup: server.child.pid,
      connections: settings.connections,
      seconds: settings.seconds,
      warmupSeconds: settings.warmupSeconds,
    });
    const page1Label = `list page 1`;
    const deepLabel = `list page ${fmt(deepPage)}`;

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
      if (has('list')) {
        await pair(
          async () => record('list-p1', `gazo ${page1Label}`, await load(get(gazo, listUrl(1), listAuth))),
          async () =>
            record(
              'list-base',
              'node:http JSON',
              await load(get(listBase, `http://127.0.0.1:${listBasePort}/`)),
            ),
        );
        record('list-deep', `gazo ${deepLabel}`, await load(get(gazo, listUrl(deepPage), listAuth)));
        // Every request a different page, in an order no cache can keep up with: the uncached cost.
        record(
          'list-cold',
          'gazo list, cold pages',
          await load({
            ...get(gazo, gazoUrl, listAuth),
            pages: { path: `/api/images?page={page}&per_page=${settings.perPage}`, count: lastPage },
          }),
        );
        record(
          'list-fastify',
          'bare Fastify JSON',
          await load(get(fastifyBase, `http://127.0.0.1:${fastifyPort}/`)),
        );
      }
      if (has('raw')) {
        await pair(
          async () => record('raw', 'gazo raw PNG', await load(get(gazo, `${gazoUrl}${rawPath}`))),
          async () => {
            if (nginx && nginxUrl) record('raw-nginx', 'nginx raw PNG', await load(get(nginx, nginxUrl)));
            record(
              'raw-node',
              'node:http raw PNG',
              await load(get(rawBase, `http://127.0.0.1:${rawBasePort}/raw.png`)),
            );
          },
        );
      }
      if (has('upload')) {
        await pair(
          async () =>
            record(
              'upload',
              'gazo uploads',
              await load({
                ...get(gazo, `${gazoUrl}/api/upload`, uploadAuth),
                connections: settings.uploadClients,
                upload: { files: uploadFiles },
              }),
            ),
          async () =>
            record(
              'upload-sharp',
              'sharp alone',
              await sharpAlone({
                files: uploadFiles,
                concurrency: settings.uploadClients,
                seconds: settings.seconds,
                warmupSeconds: settings.warmupSeconds,
              }),
            ),
        );
      }
    }

    await report({ deepPage, rawBytes: rawPng.length, uploadSize, seedSeconds: seeded.seconds });
  } finally {
    await stopAll(started);
    if (process.env.BENCH_KEEP) log(`bench: kept ${tmp}`);
    else await fs.rm(tmp, { recursive: true, force: true });
  }
}

interface Row {
  scenario: string;
  metric: string;
  gazo: number;
  gazoRange: [number, number];
  gazoP99?: number;
  /** Server CPU time per request (or per upload), µs: less disturbed by other load than throughput. */
  gazoCpuUs?: number;
  baselineName: string;
  baseline: number;
  baselineP99?: number;
  baselineCpuUs?: number;
  ratio: number;
  target?: number;
  met?: boolean;
  failures: number;
}

/** Other work on the machine during the measurements, in cores' worth of CPU. */
function otherLoad() {
  const all = [...series.values()].flatMap((s) => s.runs.map((r) => r.otherCores));
  const known = all.filter((c): c is number => c !== undefined);
  return known.length ? { median: median(known), max: Math.max(...known) } : undefined;
}

function otherLoadLine(): string {
  const o = otherLoad();
  if (!o) return 'other load on the machine: unknown (no /proc)';
  return (
    `other load on the machine while measuring: median ${o.median.toFixed(2)}, max ${o.max.toFixed(2)} cores` +
    (o.max > 0.25
      ? ' — other work was running: throughput figures are understated, CPU µs/op much less so'
      : '')
  );
}

async function report(info: { deepPage: number; rawBytes: number; uploadSize: number; seedSeconds: number }) {
  const stat = (key: string) => {
    const s = series.get(key);
    if (!s) return undefined;
    const rps = s.runs.map((r) => r.rps);
    const cpu = s.runs.map((r) => r.cpuUsPerOp).filter((c): c is number => c !== undefined);
    return {
      rps: median(rps),
      p99: median(s.runs.map((r) => r.p99)),
      cpu: cpu.length ? median(cpu) : undefined,
      range: [Math.min(...rps), Math.max(...rps)] as [number, number],
      failures: s.runs.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0),
      runs: s.runs,
    };
  };
  const rows: Row[] = [];
  const add = (
    scenario: string,
    metric: string,
    gazoKey: string,
    baseKey: string,
    baselineName: string,
    target?: number,
  ) => {
    const g = stat(gazoKey);
    const b = stat(baseKey);
    if (!g || !b) return;
    const ratio = g.rps / b.rps;
    rows.push({
      scenario,
      metric,
      gazo: g.rps,
      gazoRange: g.range,
      gazoP99: g.p99,
      gazoCpuUs: g.cpu,
      baselineName,
      baseline: b.rps,
      baselineP99: b.p99,
      baselineCpuUs: b.cpu,
      ratio,
      target,
      met: target === undefined ? undefined : ratio >= target && g.failures === 0,
      failures: g.failures + b.failures,
    });
  };
  const deep = fmt(info.deepPage);
  add(`list page 1 (${fmt(settings.images)} images)`, 'req/s', 'list-p1', 'list-base', 'node:http', 0.5);
  add('  same, vs bare Fastify', 'req/s', 'list-p1', 'list-fastify', 'bare Fastify');
  add(`list page ${deep}`, 'req/s', 'list-deep', 'list-base', 'node:http', 0.5);
  add(`list page ${deep} vs page 1`, 'req/s', 'list-deep', 'list-p1', 'gazo page 1', 1 / 1.5);
  add('list, every request a new page (uncached)', 'req/s', 'list-cold', 'list-base', 'node:http');
  const rawName = `raw PNG ${fmt(info.rawBytes / 1024)} KB`;
  if (series.has('raw-nginx')) add(rawName, 'req/s', 'raw', 'raw-nginx', 'nginx', 0.5);
  add(series.has('raw-nginx') ? '' : rawName, 'req/s', 'raw', 'raw-node', 'node:http');
  add(
    `uploads 1920×1080 PNG (${fmt(info.uploadSize / 1024)} KB), ${settings.uploadClients} clients`,
    'uploads/s',
    'upload',
    'upload-sharp',
    'sharp alone',
    0.5,
  );

  const num = (n: number) => fmt(n, n < 100 ? 1 : 0);
  const cpuCell = (r: Row) =>
    r.gazoCpuUs === undefined
      ? ''
      : `${fmt(r.gazoCpuUs)} / ${r.baselineCpuUs === undefined ? '?' : fmt(r.baselineCpuUs)}`;
  const lines: string[][] = [
    ['scenario', 'gazo', '(runs min–max)', 'baseline', 'ratio', 'target', 'met', 'CPU µs/op gazo / base'],
  ];
  for (const r of rows) {
    const unit = r.metric === 'req/s' ? 'req/s' : '/s';
    lines.push([
      r.scenario,
      `${num(r.gazo)} ${unit}`,
      `${num(r.gazoRange[0])}–${num(r.gazoRange[1])}`,
      `${r.baselineName} ${num(r.baseline)} ${unit}`,
      `${r.ratio.toFixed(2)}×`,
      r.target === undefined ? '(info)' : `≥ ${r.target.toFixed(2)}×`,
      r.met === undefined ? '' : r.met ? 'yes' : `NO${r.failures ? ' (errors)' : ''}`,
      cpuCell(r),
    ]);
    if (r.baselineName === 'node:http' && r.scenario.startsWith('list page')) {
      lines.push(['  p99 latency', ms(r.gazoP99 ?? 0), '', ms(r.baselineP99 ?? 0), '', '', '', '']);
    }
  }
  const widths = lines[0]?.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length))) ?? [];
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const out = [
    '',
    `Gazo bench — medians of ${settings.runs} runs × ${settings.seconds} s (+${settings.warmupSeconds} s warm-up each); ` +
      `node ${process.version}, ${os.cpus().length} × ${cpu}`,
    `load: autocannon 8 in its own process, ${settings.connections} connections (uploads: ${settings.uploadClients}); ` +
      'every server its own process on 127.0.0.1',
    otherLoadLine(),
    '',
    ...lines.map((l) =>
      l
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    ),
    '',
  ];
  if (settings.only.includes('raw') && !series.has('raw-nginx')) out.push('nginx not installed: skipped', '');
  process.stdout.write(`${out.join('\n')}\n`);

  const results = {
    date: new Date().toISOString(),
    machine: { node: process.version, cpus: os.cpus().length, cpu, platform: `${os.type()} ${os.release()}` },
    otherLoad: otherLoad(),
    settings: {
      ...settings,
      seedSeconds: info.seedSeconds,
      deepPage: info.deepPage,
      rawBytes: info.rawBytes,
      uploadBytes: info.uploadSize,
    },
    rows,
    series: Object.fromEntries([...series].map(([k, s]) => [k, s])),
  };
  const dir = path.join(ROOT, '.bench');
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  log(`bench: wrote ${path.relative(process.cwd(), path.join(dir, 'results.json'))}`);
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
}
