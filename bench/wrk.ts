/**
 * GET load from wrk (Debian's `wrk`, C, event-driven): a Node load generator tops out at a few
 * thousand requests a second here, below nginx and even below Gazo, and then every ratio is
 * the generator's ceiling. wrk's own CPU is measured too, so that a saturated generator shows.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { processCpuSeconds, withOtherLoad } from './cpu.ts';
import type { LoadResult } from './result.ts';

export const WRK = '/usr/bin/wrk';

export async function wrkInstalled(): Promise<boolean> {
  try {
    await fs.access(WRK, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface WrkSpec {
  url: string;
  headers?: Record<string, string>;
  threads: number;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /** Process group of the server, for its CPU time per request. */
  serverGroup?: number;
  /**
   * GET a different page on each request: `path` with `{page}` replaced by 1..count in one
   * shuffled order; thread k starts k/threads of the way along it, so no two requests close
   * together ask for the same page and no response cache can answer them.
   */
  pages?: { path: string; count: number };
  /** Where the Lua script for `pages` is written. */
  scratchDir: string;
}

/** generatorCores near `threads` means wrk itself was the limit. */
export type WrkResult = LoadResult;

function pagesScript(pathTemplate: string, count: number, threads: number): string {
  const [before, after] = pathTemplate.split('{page}');
  return `-- Written by bench/wrk.ts: every request a different page, in one shuffled order.
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  math.randomseed(12345)
  order = {}
  for i = 1, ${count} do order[i] = i end
  for i = ${count}, 2, -1 do
    local j = math.random(i)
    order[i], order[j] = order[j], order[i]
  end
  n = math.floor(tid * ${count} / ${threads})
end
function request()
  n = n + 1
  local page = order[(n - 1) % ${count} + 1]
  return wrk.format("GET", ${JSON.stringify(before)} .. page .. ${JSON.stringify(after ?? '')})
end
`;
}

/** wrk prints latencies as 1.23us, 4.56ms or 1.02s. */
function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

export function parseWrk(out: string): Omit<WrkResult, 'cpuUsPerOp' | 'otherCores' | 'generatorCores'> {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? Number.NaN);
  const requests = num(/(\d+) requests in ([\d.]+)(?:s|ms|m)/);
  const seconds = (() => {
    const m = /\d+ requests in ([\d.]+)(us|ms|s|m)/.exec(out);
    return m ? toMs(`${m[1]}${m[2]}`) / 1000 : Number.NaN;
  })();
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const pct = (p: string) => toMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)?.[1] ?? '');
  const ok = requests - non2xx;
  return {
    rps: ok / seconds,
    p50: pct('50'),
    p99: pct('99'),
    ok,
    non2xx,
    errors: socket ? Number(socket[1]) + Number(socket[2]) + Number(socket[3]) : 0,
    timeouts: socket ? Number(socket[4]) : 0,
    seconds,
  };
}

/** Runs wrk once; resolves with its output and the CPU seconds it used (sampled near its end). */
function runWrk(args: string[], seconds: number): Promise<{ out: string; cpu?: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(WRK, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let cpu: number | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    // /proc/<pid>/stat of a single process counts all its threads; read it until it exits.
    const sample = setInterval(() => {
      if (child.pid !== undefined) cpu = processCpuSeconds(child.pid) ?? cpu;
    }, 100);
    const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearInterval(sample);
      clearTimeout(killer);
      if (code === 0) resolve({ out, cpu });
      else reject(new Error(`wrk exited with ${code}: ${err || out}`));
    });
  });
}

/** wrk takes whole time units only. */
const wholeSeconds = (s: number) => `${Math.max(1, Math.round(s))}s`;

export async function wrkLoad(spec: WrkSpec): Promise<WrkResult> {
  const args = ['-t', String(spec.threads), '-c', String(spec.connections), '--latency', '--timeout', '10s'];
  for (const [name, value] of Object.entries(spec.headers ?? {})) args.push('-H', `${name}: ${value}`);
  if (spec.pages) {
    await fs.mkdir(spec.scratchDir, { recursive: true });
    const script = path.join(spec.scratchDir, `pages-${spec.pages.count}-${spec.threads}.lua`);
    await fs.writeFile(script, pagesScript(spec.pages.path, spec.pages.count, spec.threads));
    args.push('-s', script);
  }
  if (spec.warmupSeconds > 0) {
    await runWrk([...args, '-d', wholeSeconds(spec.warmupSeconds), spec.url], spec.warmupSeconds);
  }
  const t0 = performance.now();
  const {
    value: { out, cpu },
    serverCpu,
    otherCores,
  } = await withOtherLoad(spec.serverGroup, () =>
    runWrk([...args, '-d', wholeSeconds(spec.seconds), spec.url], spec.seconds),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const parsed = parseWrk(out);
  if (!Number.isFinite(parsed.rps)) throw new Error(`could not read wrk's output:\n${out}`);
  return {
    ...parsed,
    cpuUsPerOp: serverCpu === undefined || parsed.ok === 0 ? undefined : (serverCpu * 1e6) / parsed.ok,
    // withOtherLoad counted wrk as "other": take it back out.
    otherCores: otherCores === undefined ? undefined : Math.max(0, otherCores - (cpu ?? 0) / elapsed),
    generatorCores: cpu === undefined ? undefined : cpu / elapsed,
  };
}
