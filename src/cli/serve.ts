import { Command } from 'commander';
import type { Config, ConfigInput } from '../config.ts';
import { PENDING_UPLOAD_MAX_AGE_MS, startBackgroundWork } from '../jobs/housekeeping.ts';
import type { Runtime, RuntimeOptions } from '../runtime.ts';
import { refuseCorruptDatabase } from './fsck.ts';
import { configFrom, withDataDir } from './options.ts';
import { acquireServeLock } from './serve-lock.ts';

export { PENDING_UPLOAD_MAX_AGE_MS };

/**
 * Reclaims what a process that died left, and only what is provably dead. On SQLite the data-dir
 * lock proves that no other server or worker runs on the data dir: every lease is the dead
 * process's, and so is every upload registered before this start (an in-process `gazo import`
 * running beside it fails that one upload at its commit, never losing bytes). On PostgreSQL
 * nothing proves that: expired leases need nothing (the next claim takes them over), and only
 * uploads older than PENDING_UPLOAD_MAX_AGE_MS are swept.
 */
export async function recoverAfterCrash(rt: Runtime, startedAt: number): Promise<void> {
  if (rt.store.kind === 'sqlite') {
    await rt.collector.sweepAfterCrash(startedAt);
    await rt.store.jobs.releaseLeases();
  } else {
    await rt.collector.sweepAfterCrash(startedAt - PENDING_UPLOAD_MAX_AGE_MS);
  }
}

/** The flags of what both `gazo serve` and `gazo worker` do with images: where bytes go, decoding, OCR. */
export const withImageWorkOptions = (command: Command) =>
  command
    .option('--max-pixels <n>', 'largest image canvas accepted (env GAZO_MAX_PIXELS, default 100000000)')
    .option(
      '--decode-memory-mb <n>',
      'memory image decodes may take at once; more waits (env GAZO_DECODE_MEMORY_MB, default 512)',
    )
    .option(
      '--blobs <url>',
      'keep image bytes in an S3-compatible bucket: s3://bucket?endpoint=…&region=…[&presign=1] (env GAZO_BLOBS, default the data dir)',
    )
    .option('--no-ocr', 'do not read the text in images (env GAZO_OCR=off)')
    .option(
      '--ocr-languages <codes>',
      'tesseract languages to read, joined by + (env GAZO_OCR_LANGUAGES, default eng+jpn)',
    )
    .option(
      '--ocr-engine <name>',
      'tesseract.js (built in) or tesseract (the installed command, faster; env GAZO_OCR_ENGINE, default tesseract.js)',
    );

/**
 * Opens the runtime of a long-running process (server or worker) and recovers what dead ones
 * left. On SQLite it first takes the data dir's lock (one server or worker per data dir: see
 * serve-lock.ts) and refuses a corrupt database; on PostgreSQL no host-local lock could prove
 * anything, and none is needed: start-up takes only what is provably dead.
 */
export async function openLongRunning(
  config: Config,
  startedAt: number,
  options: RuntimeOptions,
): Promise<{ rt: Runtime; close(): Promise<void> }> {
  const { openRuntime } = await import('../runtime.ts');
  let releaseLock = async () => {};
  if (config.database.kind === 'sqlite') {
    releaseLock = await acquireServeLock(config.dataDir);
    await refuseCorruptDatabase(config.dataDir).catch(async (err) => {
      await releaseLock();
      throw err;
    });
  }
  const rt = await openRuntime(config, options);
  await recoverAfterCrash(rt, startedAt);
  return {
    rt,
    async close() {
      await rt.close();
      await releaseLock();
    },
  };
}

/** Runs `stop` once on SIGINT or SIGTERM, then exits. */
export function onShutdown(stop: () => Promise<void>): void {
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await stop();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

export function serveCommand(): Command {
  const command = withDataDir(
    new Command('serve')
      .description('serve the Gyazo API, pages and images')
      .option('--port <n>', 'port to listen on (env GAZO_PORT, default 3000)')
      .option('--host <host>', 'address to listen on (env GAZO_HOST, default 127.0.0.1)')
      .option('--base-url <url>', 'public URL of this server (env GAZO_BASE_URL)')
      .option('--api-url <url>', 'public URL of the API origin (env GAZO_API_URL, default: base URL)')
      .option(
        '--upload-url <url>',
        'public URL of the upload origin (env GAZO_UPLOAD_URL, default: base URL)',
      )
      .option('--web-url <url>', 'public URL of permalink pages (env GAZO_WEB_URL, default: base URL)')
      .option('--image-url <url>', 'public URL of image files (env GAZO_IMAGE_URL, default: base URL)')
      .option(
        '--max-upload-bytes <n>',
        'largest upload accepted (env GAZO_MAX_UPLOAD_BYTES, default 52428800)',
      )
      .option(
        '--trust-proxy <list-or-hops>',
        'believe X-Forwarded-For from these proxy addresses/CIDRs (comma-separated), or from this many hops (env GAZO_TRUST_PROXY, default off)',
      )
      .option(
        '--headers-timeout <s>',
        'seconds to receive request headers (env GAZO_HEADERS_TIMEOUT, default 15)',
      )
      .option(
        '--request-timeout <s>',
        'seconds to receive a whole request (env GAZO_REQUEST_TIMEOUT, default 600)',
      )
      .option(
        '--idle-timeout <s>',
        'seconds a kept-alive connection may idle (env GAZO_IDLE_TIMEOUT, default 72)',
      )
      .option('--max-connections <n>', 'open connections at most (env GAZO_MAX_CONNECTIONS, default 512)')
      .option(
        '--max-auth-failures-per-minute <n>',
        'failed authentications per client address before 429, 0 for no limit (env GAZO_MAX_AUTH_FAILURES_PER_MINUTE, default 30)',
      )
      .option(
        '--max-requests-per-token-per-day <n>',
        'requests per token or device id per day, 0 for no limit (env GAZO_MAX_REQUESTS_PER_TOKEN_PER_DAY, default 0)',
      )
      .option(
        '--keep-metadata',
        'serve originals with their EXIF, GPS and XMP instead of removing them (env GAZO_KEEP_METADATA)',
      )
      .option(
        '--registration <mode>',
        'who may sign up on the web: closed (gazo user create or an invite link; the default) or open (env GAZO_REGISTRATION)',
      )
      .option(
        '--legacy-anonymous-devices',
        'legacy clients (upload.cgi) with no device id get one, linked to a user from the browser (env GAZO_LEGACY_ANONYMOUS_DEVICES)',
      ),
  );
  withImageWorkOptions(command).option(
    '--no-jobs',
    'serve HTTP only; run the background work (thumbnails, OCR, collection, expiry) in `gazo worker` processes',
  );
  return command.action(async (options: ConfigInput & { jobs?: boolean }) => {
    const startedAt = Date.now();
    const jobs = options.jobs !== false;
    const config = configFrom(options);
    const { buildApp } = await import('../http/app.ts');
    const { rt, close } = await openLongRunning(config, startedAt, { jobs });
    const app = await buildApp(rt, { logger: { level: config.logLevel } });
    const stopSweeps = jobs ? startBackgroundWork(rt, app.log) : () => {};
    const address = await app.listen({ port: config.port, host: config.host });
    process.stdout.write(
      `Gazo listening on ${address} (public URL ${config.urls.base}, data in ${config.dataDir}${jobs ? '' : ', no background jobs'})\n`,
    );
    if (rt.ocr) process.stdout.write(`OCR: ${rt.ocr.description}\n`);
    onShutdown(async () => {
      stopSweeps();
      // In-flight requests get 10 s to finish; a client that stopped reading does not hold us for ever.
      const force = setTimeout(() => app.server.closeAllConnections(), 10_000).unref();
      await app.close();
      clearTimeout(force);
      await close();
    });
  });
}
