/**
 * The upload baseline: sharp alone doing what an upload costs in imaging — the very calls the
 * upload service makes (inspectImage, then makeThumbnail, with Gazo's sharp settings) —
 * `concurrency` at a time in one process, with no HTTP, hashing, files or database.
 * `node --import tsx bench/sharp-baseline.ts '<SharpSpec JSON>'`; prints one line of LoadResult JSON.
 */
import fs from 'node:fs';
import { DEFAULTS } from '../src/config.ts';
import { inspectImage, makeThumbnail } from '../src/imaging/imaging.ts';
import { withOtherLoad } from './cpu.ts';
import { uniquePng } from './png.ts';
import type { LoadResult } from './result.ts';

export interface SharpSpec {
  files: string[];
  concurrency: number;
  seconds: number;
  warmupSeconds: number;
}

const spec = JSON.parse(process.argv[2] ?? '') as SharpSpec;
const pngs = spec.files.map((f) => fs.readFileSync(f));
let n = 0;

async function one(): Promise<void> {
  const i = n++;
  const bytes = uniquePng(pngs[i % pngs.length] as Buffer, `${process.pid}-${i}-${Date.now()}`);
  const info = await inspectImage(bytes, DEFAULTS.maxPixels);
  await makeThumbnail(bytes, info, DEFAULTS.thumbSize, DEFAULTS.maxPixels);
}

/** Runs `concurrency` loops until `seconds` pass; counts what finished inside the window. */
async function window(seconds: number): Promise<{ done: number; elapsed: number; latencies: number[] }> {
  const start = performance.now();
  const end = start + seconds * 1000;
  const latencies: number[] = [];
  let done = 0;
  const loop = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await one();
      const now = performance.now();
      if (now <= end) {
        done++;
        latencies.push(now - t);
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  return { done, elapsed: (performance.now() - start) / 1000, latencies };
}

const pct = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number);

if (spec.warmupSeconds > 0) await window(spec.warmupSeconds);
const cpu = process.cpuUsage();
const {
  value: { done, latencies },
  otherCores,
} = await withOtherLoad(undefined, () => window(spec.seconds));
const used = process.cpuUsage(cpu);
latencies.sort((a, b) => a - b);
const result: LoadResult = {
  // Like autocannon: completions inside the window over the window's length.
  rps: done / spec.seconds,
  p50: Math.round(pct(latencies, 0.5)),
  p99: Math.round(pct(latencies, 0.99)),
  ok: done,
  non2xx: 0,
  errors: 0,
  timeouts: 0,
  seconds: spec.seconds,
  cpuUsPerOp: done === 0 ? undefined : (used.user + used.system) / done,
  otherCores,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
