import { Command } from 'commander';
import type { ConfigInput } from '../config.ts';
import type { Runtime } from '../runtime.ts';
import { refuseCorruptDatabase } from './fsck.ts';
import { configFrom, withDataDir } from './options.ts';
import { acquireServeLock } from './serve-lock.ts';

/**
 * On PostgreSQL other servers and workers may be running: a pending upload is dead only once it
 * is older than any live one gets (and one that does take longer fails at its commit rather than
 * make a row whose bytes were collected: see ImageRepository.insert).
 */
export const PENDING_UPLOAD_MAX_AGE_MS = 15 * 60 * 1000;

/**
 * Reclaims what a process that died left, and only what is provably dead. On SQLite the serve
 * lock proves that no other server runs on the data dir: every lease is the dead server's, and
 * so is every upload registered before this start (an in-process `gazo import` running beside
 * it fails that one upload at its commit, never losing bytes). On PostgreSQL nothing proves
 * that: expired leases need nothing (the next claim takes them over), and only uploads older
 * than PENDING_UPLOAD_MAX_AGE_MS are swept.
 */
export async function recoverAfterCrash(rt: Runtime, startedAt: number): Promise<void> {
  if (rt.store.kind === 'sqlite') {
    await rt.collector.sweepAfterCrash(startedAt);
    await rt.store.jobs.releaseLeases();
  } else {
    await rt.collector.sweepAfterCrash(startedAt - PENDING_UPLOAD_MAX_AGE_MS);
  }
}

export function serveCommand(): Command {
  return withDataDir(
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
      .option('--max-pixels <n>', 'largest image canvas accepted (env GAZO_MAX_PIXELS, default 100000000)')
      .option(
        '--decode-memory-mb <n>',
        'memory image decodes may take at once; more waits (env GAZO_DECODE_MEMORY_MB, default 512)',
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
      )
      .option(
        '--blobs <url>',
        'keep image bytes in an S3-compatible bucket: s3://bucket?endpoint=…&region=…[&presign=1] (env GAZO_BLOBS, default the data dir)',
      )
      .option('--no-ocr', 'do not read the text in images (env GAZO_OCR=off)')
      .option(
        '--ocr-languages <codes>',
        'tesseract languages to read, joined by + (env GAZO_OCR_LANGUAGES, default eng+jpn)',
      ),
  ).action(async (options: ConfigInput) => {
    const startedAt = Date.now();
    const config = configFrom(options);
    const [{ buildApp }, { openRuntime }] = await Promise.all([
      import('../http/app.ts'),
      import('../runtime.ts'),
    ]);
    const releaseLock = await acquireServeLock(config.dataDir);
    await (config.database.kind === 'sqlite'
      ? refuseCorruptDatabase(config.dataDir)
      : Promise.resolve()
    ).catch(async (err) => {
      await releaseLock();
      throw err;
    });
    const rt = await openRuntime(config);
    await recoverAfterCrash(rt, startedAt);
    const app = await buildApp(rt, { logger: { level: config.logLevel } });
    rt.worker.start(app.log);
    // Expired browser sessions are refused when presented; this only keeps the table small.
    const sweepSessions = () =>
      rt.sessions.deleteExpired().catch((err) => app.log.warn({ err }, 'could not delete expired sessions'));
    void sweepSessions();
    const sessionSweep = setInterval(sweepSessions, 60 * 60 * 1000).unref();
    const address = await app.listen({ port: config.port, host: config.host });
    process.stdout.write(
      `Gazo listening on ${address} (public URL ${config.urls.base}, data in ${config.dataDir})\n`,
    );

    let closing = false;
    const shutdown = async () => {
      if (closing) return;
      closing = true;
      clearInterval(sessionSweep);
      await app.close();
      await rt.close();
      await releaseLock();
      process.exit(0);
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  });
}
