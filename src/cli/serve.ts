import { Command } from 'commander';
import type { ConfigInput } from '../config.ts';
import { configFrom, withDataDir } from './options.ts';
import { acquireServeLock } from './serve-lock.ts';

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
        '--keep-metadata',
        'serve originals with their EXIF, GPS and XMP instead of removing them (env GAZO_KEEP_METADATA)',
      ),
  ).action(async (options: ConfigInput) => {
    const startedAt = Date.now();
    const config = configFrom(options);
    const [{ buildApp }, { openRuntime }] = await Promise.all([
      import('../http/app.ts'),
      import('../runtime.ts'),
    ]);
    const releaseLock = await acquireServeLock(config.dataDir);
    const rt = await openRuntime(config);
    // Uploads that were in flight when a previous process died left pending blobs, and the jobs
    // it was running stay leased: collect the one, release the other.
    await rt.collector.sweepAfterCrash(startedAt);
    await rt.store.jobs.releaseLeases();
    rt.worker.start();
    const app = await buildApp(rt, { logger: { level: config.logLevel } });
    const address = await app.listen({ port: config.port, host: config.host });
    process.stdout.write(
      `Gazo listening on ${address} (public URL ${config.urls.base}, data in ${config.dataDir})\n`,
    );

    let closing = false;
    const shutdown = async () => {
      if (closing) return;
      closing = true;
      await app.close();
      await rt.close();
      await releaseLock();
      process.exit(0);
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  });
}
