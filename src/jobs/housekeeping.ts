import type { Runtime } from '../runtime.ts';
import type { JobLog } from './worker.ts';

/**
 * On PostgreSQL other servers and workers may be running: a pending upload is dead only once it
 * is older than any live one gets (and one that does take longer fails at its commit rather than
 * make a row whose bytes were collected: see ImageRepository.insert).
 */
export const PENDING_UPLOAD_MAX_AGE_MS = 15 * 60 * 1000;

/** How often the periodic sweeps run (expired sessions, dead uploads' blobs and staged files). */
export const SWEEP_EVERY_MS = 60 * 60 * 1000;

/**
 * The background work of a Gazo process: the job worker (thumbnails, OCR, blob collection and
 * every other job kind the runtime registers) and the periodic sweeps. `gazo serve` runs it
 * unless `--no-jobs`; `gazo worker` runs only this. Any number of processes may run it at once
 * on PostgreSQL: jobs are leased one holder at a time, and the sweeps take only what is provably
 * dead (expired sessions, uploads pending longer than PENDING_UPLOAD_MAX_AGE_MS, staged files of
 * dead writers). Returns the function that stops the sweeps (`rt.close()` stops the worker).
 */
export function startBackgroundWork(rt: Runtime, log: JobLog): () => void {
  rt.worker.start(log);
  const sweep = async () => {
    // Expired browser sessions are refused when presented; this only keeps the table small.
    await rt.sessions.deleteExpired().catch((err) => log.warn({ err }, 'could not delete expired sessions'));
    // An upload whose process died (a SIGKILL, a lost host) left its bytes registered as pending.
    await rt.collector
      .sweepAfterCrash(Date.now() - PENDING_UPLOAD_MAX_AGE_MS)
      .catch((err) => log.warn({ err }, 'could not sweep dead uploads'));
  };
  void sweep();
  const timer = setInterval(sweep, SWEEP_EVERY_MS).unref();
  return () => clearInterval(timer);
}
