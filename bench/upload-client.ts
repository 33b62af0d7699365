/**
 * The upload load generator: `connections` keep-alive clients, each posting one multipart upload
 * after another, every body with unique bytes (so the content-hash dedupe never shortcuts).
 * Latencies are timed here to the microsecond, from the first byte sent to the last received.
 * With `chunked`, bodies go out with Transfer-Encoding: chunked in 64 KB writes, each after the
 * last was handed to the socket: a streamed body, as a client sending from disk does.
 * `node --import tsx bench/upload-client.ts '<UploadSpec JSON>'`; prints one line of JSON.
 */
import fs from 'node:fs';
import http from 'node:http';
import { withOtherLoad } from './cpu.ts';
import { uniqueGif } from './gif.ts';
import { multipartUpload, uniquePng } from './png.ts';
import type { LoadResult } from './result.ts';

export interface UploadSpec {
  url: string;
  headers?: Record<string, string>;
  connections: number;
  /** Run for this long (after warm-up) ... */
  seconds?: number;
  /** ... or until each connection has made this many uploads. */
  perConnection?: number;
  warmupSeconds: number;
  files: string[];
  kind: 'png' | 'gif';
  chunked?: boolean;
  serverGroup?: number;
}

const CHUNK = 64 * 1024;

const spec = JSON.parse(process.argv[2] ?? '') as UploadSpec;
const sources = spec.files.map((f) => fs.readFileSync(f));
const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
const target = new URL(spec.url);
let seq = 0;

function body(): { body: Buffer; contentType: string } {
  const i = seq++;
  const source = sources[i % sources.length] as Buffer;
  const tag = `${process.pid}-${i}-${Date.now()}`;
  return multipartUpload(spec.kind === 'png' ? uniquePng(source, tag) : uniqueGif(source, tag));
}

/** One upload; resolves with its status and latency in ms. */
function upload(): Promise<{ status: number; ms: number; said?: string }> {
  const { body: payload, contentType } = body();
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...spec.headers, 'Content-Type': contentType };
    if (!spec.chunked) headers['Content-Length'] = String(payload.length);
    const t0 = performance.now();
    const req = http.request(target, { method: 'POST', agent, headers }, (res) => {
      const status = res.statusCode ?? 0;
      // A refusal's body says why; a success's is drained unread.
      let said = '';
      if (status >= 200 && status < 300) res.resume();
      else res.on('data', (chunk: Buffer) => (said += chunk.toString('utf8').slice(0, 200)));
      res.on('end', () => resolve({ status, ms: performance.now() - t0, said: said && `${status} ${said}` }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(120_000, () => req.destroy(new Error('timeout')));
    if (!spec.chunked) {
      req.end(payload);
      return;
    }
    let offset = 0;
    const next = () => {
      if (offset >= payload.length) {
        req.end();
        return;
      }
      const chunk = payload.subarray(offset, offset + CHUNK);
      offset += chunk.length;
      req.write(chunk, () => next());
    };
    next();
  });
}

async function window(seconds: number | undefined, perConnection: number | undefined) {
  const start = performance.now();
  const end = seconds === undefined ? Number.POSITIVE_INFINITY : start + seconds * 1000;
  const latencies: number[] = [];
  let non2xx = 0;
  let firstRefusal: string | undefined;
  let errors = 0;
  const loop = async () => {
    for (let n = 0; performance.now() < end && (perConnection === undefined || n < perConnection); n++) {
      try {
        const { status, ms, said } = await upload();
        if (performance.now() > end) break;
        if (status >= 200 && status < 300) latencies.push(ms);
        else {
          non2xx++;
          firstRefusal ??= said;
        }
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, loop));
  return { latencies, non2xx, firstRefusal, errors, elapsed: (performance.now() - start) / 1000 };
}

const pct = (sorted: number[], p: number) =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number);

if (spec.warmupSeconds > 0) await window(spec.warmupSeconds, undefined);
const self0 = process.cpuUsage();
const { value, serverCpu, otherCores } = await withOtherLoad(spec.serverGroup, () =>
  window(spec.seconds, spec.perConnection),
);
const self = process.cpuUsage(self0);
const { latencies, non2xx, firstRefusal, errors, elapsed } = value;
latencies.sort((a, b) => a - b);
const seconds = spec.seconds ?? elapsed;
const result: LoadResult = {
  rps: latencies.length / seconds,
  p50: pct(latencies, 0.5),
  p99: pct(latencies, 0.99),
  ok: latencies.length,
  non2xx,
  firstRefusal,
  errors,
  timeouts: 0,
  seconds,
  cpuUsPerOp:
    serverCpu === undefined || latencies.length === 0 ? undefined : (serverCpu * 1e6) / latencies.length,
  otherCores,
  generatorCores: (self.user + self.system) / 1e6 / elapsed,
};
agent.destroy();
process.stdout.write(`${JSON.stringify(result)}\n`);
