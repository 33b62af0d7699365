/**
 * The load generator, run as its own process (so its CPU use is its own, the same for every
 * server measured): `node --import tsx bench/load.ts '<LoadSpec JSON>'`. Prints one line of
 * LoadResult JSON.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import autocannon from 'autocannon';
import { withOtherLoad } from './cpu.ts';
import { multipartUpload, uniquePng } from './png.ts';

export interface LoadSpec {
  url: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  headers?: Record<string, string>;
  /**
   * GET a different page on each request: `path` with `{page}` replaced by 1..count, in a
   * shuffled order, so that no response cache can answer most of them.
   */
  pages?: { path: string; count: number };
  /** POST each request as a multipart upload of one of these PNG files, with unique bytes. */
  upload?: { files: string[] };
  /** Process group of the server: its CPU time over the measured window is reported. */
  serverGroup?: number;
}

export interface LoadResult {
  /** Successful (2xx) responses per second over the measured window. */
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  /** Server CPU time (user + system, all its processes) per successful request, in µs. */
  cpuUsPerOp?: number;
  /** Cores' worth of CPU used meanwhile by everything else on the machine (not server, not load). */
  otherCores?: number;
}

/**
 * autocannon 8 keeps every response body as a string (`body += chunk`, a UTF-8 decode and a
 * concatenation per chunk) for `verifyBody`/`onResponse`, which this bench does not use. For a
 * 200 KB PNG that caps it near 250 req/s whatever the server, so the bodies are dropped here
 * (the bytes are still counted). The same generator measures Gazo and the baselines.
 */
const require = createRequire(import.meta.url);
const queue = require('autocannon/lib/pipelinedRequestsQueue.js') as {
  prototype: { addBody(data: Buffer): void };
};
queue.prototype.addBody = () => {};

async function main() {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const options: autocannon.Options = {
    url: spec.url,
    connections: spec.connections,
    duration: spec.seconds,
    headers: spec.headers,
    timeout: 60,
  };
  if (spec.pages) {
    const { path, count } = spec.pages;
    const order = Array.from({ length: count }, (_, i) => i + 1);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    let n = 0;
    options.requests = [
      { setupRequest: (req) => ({ ...req, path: path.replace('{page}', String(order[n++ % count])) }) },
    ];
  }
  if (spec.upload) {
    const pngs = spec.upload.files.map((f) => fs.readFileSync(f));
    let n = 0;
    options.method = 'POST';
    options.requests = [
      {
        setupRequest: (req) => {
          const i = n++;
          const png = uniquePng(pngs[i % pngs.length] as Buffer, `${process.pid}-${i}-${Date.now()}`);
          const { body, contentType } = multipartUpload(png);
          return {
            ...req,
            method: 'POST',
            body,
            headers: { ...req.headers, 'Content-Type': contentType },
          };
        },
      },
    ];
  }
  // Warm-up is a run of its own, so that the server's CPU time is read around the measured one.
  if (spec.warmupSeconds > 0) await autocannon({ ...options, duration: spec.warmupSeconds });
  const {
    value: result,
    serverCpu,
    otherCores,
  } = await withOtherLoad(spec.serverGroup, () => autocannon(options));
  const out: LoadResult = {
    rps: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
    cpuUsPerOp:
      serverCpu === undefined || result['2xx'] === 0 ? undefined : (serverCpu * 1e6) / result['2xx'],
    otherCores,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

await main();
