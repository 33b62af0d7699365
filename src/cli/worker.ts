import { Command } from 'commander';
import type { ConfigInput } from '../config.ts';
import type { JobLog } from '../jobs/worker.ts';
import { configFrom, withDataDir } from './options.ts';
import { onShutdown, openLongRunning, withImageWorkOptions } from './serve.ts';

/**
 * `gazo worker`: the background work only (thumbnails, OCR, blob collection, every job kind the
 * runtime registers, and the periodic sweeps), no HTTP, on the same flags as `gazo serve`. Any
 * number may run on PostgreSQL beside `gazo serve --no-jobs` processes; on SQLite it takes the
 * data dir's lock like a server does (one process per data dir: there, `gazo serve` runs the jobs).
 */
export function workerCommand(): Command {
  const command = withDataDir(
    new Command('worker').description(
      'run the background work only (thumbnails, OCR, blob collection, expiry, sweeps); pairs with gazo serve --no-jobs',
    ),
  );
  withImageWorkOptions(command);
  return command.action(async (options: ConfigInput) => {
    const startedAt = Date.now();
    const config = configFrom(options);
    const { startBackgroundWork } = await import('../jobs/housekeeping.ts');
    const { rt, close } = await openLongRunning(config, startedAt, { jobs: true });
    const stopSweeps = startBackgroundWork(rt, stderrLog(config.logLevel));
    process.stdout.write(
      `Gazo worker running (jobs: ${rt.worker.kinds().join(', ')}; data in ${config.dataDir})\n`,
    );
    if (rt.ocr) process.stdout.write(`OCR: ${rt.ocr.description}\n`);
    onShutdown(async () => {
      stopSweeps();
      await close();
    });
  });
}

/** Levels that include info lines, as pino names them. */
const SHOWS_INFO = new Set(['info', 'debug', 'trace']);

/** One JSON line per warning (and, at GAZO_LOG_LEVEL=info, per job done) on stderr, as the server's log lines are. */
const stderrLog = (level: string): JobLog => {
  const write = (name: string, fields: Record<string, unknown>, message: string) => {
    const plain = Object.fromEntries(
      Object.entries(fields).map(([k, v]) => [k, v instanceof Error ? v.message : v]),
    );
    process.stderr.write(`${JSON.stringify({ level: name, time: Date.now(), ...plain, msg: message })}\n`);
  };
  return {
    warn: (fields, message) => write('warn', fields, message),
    ...(SHOWS_INFO.has(level) ? { info: (fields, message) => write('info', fields, message) } : {}),
  };
};
