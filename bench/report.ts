/**
 * The bench's table: every row Gazo against a baseline measured in the same run (or against an
 * absolute target), with the checks that say whether a ratio means anything: a baseline that is
 * not well above Gazo, or a load generator near its own limit, measures a ceiling they share.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './procs.ts';
import type { LoadResult } from './result.ts';

export interface Measured {
  series: Map<string, { label: string; runs: LoadResult[] }>;
  notes: string[];
  rssIdleMb?: number;
  /** After the list rows: the pages and each listed image's JSON Gazo keeps (GAZO_LIST_CACHE_BYTES). */
  rssAfterListMb?: number;
  /** While the clients upload. */
  rssUploadPeakMb?: number;
  /** From the first upload until the last of their thumbnails is made. */
  rssThumbnailsPeakMb?: number;
  /** idle: at start; before: just before the GIF uploads, after the other scenarios. */
  gif?: { idleMb?: number; beforeMb?: number; peakMb?: number; capped: boolean; capMb: number };
}

export interface Info {
  settings: {
    runs: number;
    seconds: number;
    warmupSeconds: number;
    connections: number;
    wrkThreads: number;
    uploadClients: number;
    images: number;
    gifClients: number;
    gifUploads: number;
  };
  deepPage: number;
  rawBytes: number;
  uploadSize: number;
  gifBytes: number;
  seedSeconds: number;
  gazoFlags: string[];
}

/** A baseline should run at least this many times faster than Gazo for the ratio to be Gazo's. */
const HEADROOM = 1.5;
/** A generator using this share of its threads' cores is at its limit. */
const SATURATED = 0.85;

const median = (xs: number[]) => {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '?';
const num = (n: number) => fmt(n, n < 100 ? 1 : 0);

interface Stat {
  label: string;
  rps: number;
  p50: number;
  p99: number;
  cpu?: number;
  generator?: number;
  range: [number, number];
  failures: number;
}

function stat(m: Measured, key: string): Stat | undefined {
  const s = m.series.get(key);
  if (!s || s.runs.length === 0) return undefined;
  const rps = s.runs.map((r) => r.rps);
  const known = (xs: Array<number | undefined>) => xs.filter((x): x is number => x !== undefined);
  const cpu = known(s.runs.map((r) => r.cpuUsPerOp));
  const gen = known(s.runs.map((r) => r.generatorCores));
  return {
    label: s.label,
    rps: median(rps),
    p50: median(s.runs.map((r) => r.p50)),
    p99: median(s.runs.map((r) => r.p99)),
    cpu: cpu.length ? median(cpu) : undefined,
    generator: gen.length ? Math.max(...gen) : undefined,
    range: [Math.min(...rps), Math.max(...rps)],
    failures: s.runs.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0),
  };
}

type Cell = string;

export async function report(m: Measured, info: Info): Promise<void> {
  const { settings } = info;
  const lines: Cell[][] = [
    [
      'scenario',
      'gazo',
      '(runs min–max)',
      'baseline',
      'ratio',
      'target',
      'met',
      'CPU µs/op gazo / base',
      'CPU ratio',
    ],
  ];
  const notes = [...m.notes];
  const results: unknown[] = [];

  /** Gazo's throughput against a baseline's: the ratio, and whether the baseline had headroom. */
  const ratioRow = (
    scenario: string,
    gazoKey: string,
    baseKey: string,
    options: { target?: number; ceiling?: boolean; unit?: string } = {},
  ) => {
    const g = stat(m, gazoKey);
    const b = stat(m, baseKey);
    if (!g || !b) return;
    const ratio = g.rps / b.rps;
    const met = options.target === undefined ? undefined : ratio >= options.target && g.failures === 0;
    const unit = options.unit ?? 'req/s';
    lines.push([
      scenario,
      `${num(g.rps)} ${unit}`,
      `${num(g.range[0])}–${num(g.range[1])}`,
      `${b.label} ${num(b.rps)} ${unit}`,
      `${ratio.toFixed(2)}×`,
      options.target === undefined ? '(info)' : `≥ ${options.target.toFixed(2)}×`,
      met === undefined ? '' : met ? 'yes' : `NO${g.failures ? ' (errors)' : ''}`,
      g.cpu === undefined ? '' : `${fmt(g.cpu)} / ${b.cpu === undefined ? '?' : fmt(b.cpu)}`,
      // What the ratio would be with each server CPU-bound on a core of its own: steadier on a
      // busy machine than throughput.
      g.cpu === undefined || b.cpu === undefined ? '' : `${(b.cpu / g.cpu).toFixed(2)}×`,
    ]);
    // A baseline meant as the ceiling must run well above Gazo, or the ratio is of a shared limit.
    if (options.ceiling && b.rps < HEADROOM * g.rps) {
      notes.push(
        `${scenario.trim()}: the baseline (${b.label}, ${num(b.rps)}/s) is only ${(b.rps / g.rps).toFixed(2)}× Gazo, ` +
          `less than the ${HEADROOM}× that shows headroom: both may be held by the same limit (load generator, ` +
          'cores, disk), and the ratio says less about Gazo than it seems.',
      );
    }
    results.push({ scenario, gazo: g, baseline: b, ratio, target: options.target, met });
  };
  const latencyRow = (scenario: string, gazoKey: string, baseKey: string, target?: number) => {
    const g = stat(m, gazoKey);
    const b = stat(m, baseKey);
    if (!g || !b) return;
    for (const [p, gv, bv, t] of [
      ['p50', g.p50, b.p50, target],
      ['p99', g.p99, b.p99, undefined],
    ] as const) {
      const met = t === undefined ? undefined : gv <= t && g.failures === 0;
      lines.push([
        `${scenario} ${p}`,
        `${fmt(gv, 1)} ms`,
        '',
        `${b.label} ${fmt(bv, 1)} ms`,
        `${(gv / bv).toFixed(2)}× as long`,
        t === undefined ? '(info)' : `≤ ${t} ms`,
        met === undefined ? '' : met ? 'yes' : 'NO',
        p === 'p50' && g.cpu !== undefined ? `${fmt(g.cpu)} / ${b.cpu === undefined ? '?' : fmt(b.cpu)}` : '',
      ]);
      results.push({ scenario: `${scenario} ${p}`, gazoMs: gv, baselineMs: bv, target: t, met });
    }
  };
  /** `target` undefined: for information. `atLeast`: the measurement was cut short, so the true figure is this or more. */
  const rssRow = (
    scenario: string,
    mb: number | undefined,
    target: number | undefined,
    extra = '',
    atLeast = false,
  ) => {
    if (mb === undefined) return;
    const met = target === undefined ? undefined : mb <= target && !atLeast;
    const shown = `${atLeast ? '≥ ' : ''}${fmt(mb)} MB`;
    const goal = target === undefined ? '(info)' : `≤ ${fmt(target)} MB`;
    lines.push([scenario, shown, '', extra, '', goal, met === undefined ? '' : met ? 'yes' : 'NO', '']);
    results.push({ scenario, mb, target, met });
  };

  const deep = fmt(info.deepPage);
  latencyRow('one client, 1920×1080 PNG upload', 'up1', 'up1-base', 8);
  ratioRow(`uploads, ${settings.uploadClients} clients`, 'up8', 'up8-base', {
    target: 0.5,
    ceiling: true,
    unit: '/s',
  });
  ratioRow('  their thumbnails, all made', 'thumbs', 'up8-sharp', { target: 0.8, unit: '/s' });
  ratioRow('  same, from when the uploads stop', 'thumbs-drain', 'up8-sharp', { unit: '/s' });
  ratioRow(`uploads, ${settings.uploadClients} clients, chunked bodies`, 'up8c', 'up8c-base', {
    ceiling: true,
    unit: '/s',
  });
  latencyRow(`list page 1 while ${settings.uploadClients} clients upload`, 'list-busy', 'list-quiet');
  ratioRow(`list page 1 (${fmt(settings.images)} images)`, 'list-p1', 'list-base', {
    target: 0.5,
    ceiling: true,
  });
  ratioRow('  same, vs bare Fastify', 'list-p1', 'list-fastify');
  ratioRow('list, every request a new page', 'list-cold', 'list-base', { target: 0.25, ceiling: true });
  ratioRow(`list page ${deep} vs page 1`, 'list-deep', 'list-p1', { target: 1 / 1.5 });
  ratioRow(`PostgreSQL + S3: uploads, ${settings.uploadClients} clients`, 'pg-up8', 'up8', { unit: '/s' });
  ratioRow('  two servers vs one, same clients', 'pg2-up8', 'pg-up8', { unit: '/s' });
  ratioRow(`PostgreSQL + S3: list page 1`, 'pg-list-p1', 'list-p1');
  ratioRow('  every request a new page', 'pg-list-cold', 'list-cold');
  ratioRow('  two servers vs one, page 1', 'pg2-list', 'pg-list-p1');
  const rawName = `raw PNG ${fmt(info.rawBytes / 1024)} KB`;
  ratioRow(rawName, 'raw', 'raw-nginx', { target: 0.8, ceiling: true });
  ratioRow(m.series.has('raw-nginx') ? '  same, vs node:http from memory' : rawName, 'raw', 'raw-node');
  rssRow('RSS idle', m.rssIdleMb, 100);
  rssRow('RSS after the list rows (every page listed)', m.rssAfterListMb, undefined);
  rssRow(`RSS peak, ${settings.uploadClients} clients uploading 1080p`, m.rssUploadPeakMb, 250);
  rssRow('  same, until their thumbnails are made', m.rssThumbnailsPeakMb, undefined);
  if (m.gif) {
    const above =
      m.gif.peakMb !== undefined && m.gif.idleMb !== undefined ? m.gif.peakMb - m.gif.idleMb : undefined;
    rssRow(
      `RSS above idle, ${settings.gifClients} clients uploading 100 MP GIFs`,
      above,
      900,
      m.gif.capped
        ? `passed the ${fmt(m.gif.capMb)} MB cap: Gazo stopped`
        : `peak ${fmt(m.gif.peakMb ?? Number.NaN)} MB (${fmt(m.gif.beforeMb ?? Number.NaN)} MB just before)`,
      m.gif.capped,
    );
    const gif = stat(m, 'gif');
    if (gif) {
      lines.push([
        '  those GIF uploads',
        `${num(gif.rps)} /s`,
        '',
        `p50 ${fmt(gif.p50, 1)} ms, p99 ${fmt(gif.p99, 1)} ms`,
        '',
        '(info)',
        gif.failures ? `${gif.failures} failed` : '',
        gif.cpu === undefined ? '' : fmt(gif.cpu),
      ]);
    }
  }

  // A load generator at its limit measures itself.
  for (const [key, s] of m.series) {
    const st = stat(m, key);
    if (!st?.generator) continue;
    const threads = key.startsWith('list') || key.startsWith('raw') ? settings.wrkThreads : 1;
    if (st.generator >= SATURATED * threads) {
      notes.push(
        `${s.label}: the load generator used ${st.generator.toFixed(2)} cores of its ${threads}: it was at its ` +
          'limit, so this figure is a floor of what the server can do (raise BENCH_WRK_THREADS if cores allow).',
      );
    }
  }

  const other = [...m.series.values()]
    .flatMap((s) => s.runs.map((r) => r.otherCores))
    .filter((c) => c !== undefined);
  const otherLine = other.length
    ? `other load on the machine while measuring: median ${median(other).toFixed(2)}, max ${Math.max(...other).toFixed(2)} cores` +
      (Math.max(...other) > 0.25
        ? ' — other work was running: throughput is understated, CPU µs/op much less so'
        : '')
    : 'other load on the machine: unknown (no /proc)';
  const widths = lines[0]?.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length))) ?? [];
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const out = [
    '',
    `Gazo bench — medians of ${settings.runs} runs × ${settings.seconds} s (+${settings.warmupSeconds} s warm-up each); ` +
      `node ${process.version}, ${os.cpus().length} × ${cpu}`,
    `Gazo as npm start runs it (dist/, node ${info.gazoFlags.join(' ')}); GET load: wrk, ${settings.wrkThreads} thread(s), ` +
      `${settings.connections} connections; uploads: Node keep-alive clients; every server its own process on 127.0.0.1`,
    otherLine,
    '',
    ...lines.map((l) =>
      l
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    ),
    '',
    ...notes.map((n) => `note: ${n}`),
    '',
  ];
  process.stdout.write(`${out.join('\n')}\n`);

  const dir = path.join(ROOT, '.bench');
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'report.txt'), `${out.join('\n')}\n`);
  const file = path.join(dir, 'results.json');
  await fs.writeFile(
    file,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        machine: {
          node: process.version,
          cpus: os.cpus().length,
          cpu,
          platform: `${os.type()} ${os.release()}`,
        },
        info,
        rss: {
          idleMb: m.rssIdleMb,
          afterListMb: m.rssAfterListMb,
          uploadPeakMb: m.rssUploadPeakMb,
          thumbnailsPeakMb: m.rssThumbnailsPeakMb,
          gif: m.gif,
        },
        rows: results,
        notes,
        series: Object.fromEntries(m.series),
      },
      null,
      2,
    )}\n`,
  );
  process.stderr.write(`bench: wrote ${path.relative(process.cwd(), file)}\n`);
}
