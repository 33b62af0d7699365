import type { ClaimedJob, JobRepository } from '../store/types.ts';
import { type JobRegistry, PermanentJobError, type RegisteredKind } from './registry.ts';

/** Where failures go: Fastify's (pino's) logger fits. */
export interface JobLog {
  warn(fields: Record<string, unknown>, message: string): void;
  /** Each job done, with its kind, id, attempt and payload (at info: off by default). */
  info?(fields: Record<string, unknown>, message: string): void;
}

export interface WorkerOptions {
  /** How long to wait between polls when there is nothing to claim. */
  pollMs: number;
  /** First retry after this; each further one waits twice as long, up to `maxRetryMs`. */
  retryBaseMs: number;
  maxRetryMs: number;
  /**
   * A lease lasts a kind's timeout plus this: long enough that the worker records the outcome
   * of a run (even one that timed out) before anyone else may take the job over.
   */
  leaseGraceMs: number;
  log?: JobLog;
}

const DEFAULTS: WorkerOptions = {
  pollMs: 1000,
  retryBaseMs: 1000,
  maxRetryMs: 3_600_000,
  leaseGraceMs: 30_000,
};

/** How long to wait for running jobs when the worker stops, before leaving them to the next start. */
const STOP_WAIT_MS = 5000;

/**
 * Runs persisted jobs of the registered kinds. Each kind has its own slots (its concurrency), so
 * a slow or backed-up kind never holds up another. A job is claimed with a lease under an owner
 * token; success deletes it, failure retries it with exponential backoff until its kind's
 * attempts are used up, then it stays in the table as failed with the reason. `nudge()` wakes
 * the worker after an enqueue in this process; other processes' jobs are found by polling.
 *
 * A kind whose last claim came back short has nothing more due, and is not asked for again
 * until a nudge names it (or names nothing) or the poll comes round: a finished job then costs
 * one claim of its own kind, not a claim of every kind (a claim is a transaction: a drain of
 * 320 thumbnails made about 2,000 of them, now about 320).
 */
export class JobWorker {
  private readonly options: WorkerOptions;
  private running = false;
  private stopping = false;
  private readonly active = new Map<string, number>();
  private readonly runs = new Set<{ done: Promise<void>; controller: AbortController }>();
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private woken = false;
  /** Kinds with nothing due at their last claim. */
  private readonly idle = new Set<string>();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly jobs: JobRepository,
    private readonly registry: JobRegistry,
    options: Partial<WorkerOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Starts the loop; `log` receives every failure (at warn). */
  start(log?: JobLog): void {
    if (this.running) return;
    if (log) this.options.log = log;
    this.running = true;
    this.stopping = false;
    // A restart looks at every kind again: what was idle then may have work now.
    this.idle.clear();
    this.loop = this.run();
  }

  /** The kinds this worker runs. */
  kinds(): string[] {
    return this.registry.list().map((k) => k.kind);
  }

  /** After jobs of `kinds` (of any kind, when not given) were queued: look for them now. */
  nudge(kinds?: readonly string[]): void {
    if (kinds) for (const kind of kinds) this.idle.delete(kind);
    else this.idle.clear();
    this.wakeLoop();
  }

  private wakeLoop(): void {
    this.woken = true;
    this.wake?.();
  }

  /** Stops claiming, tells running jobs to stop, and waits a little for them. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    this.nudge();
    await this.loop;
    for (const run of this.runs) run.controller.abort();
    const settled = Promise.all([...this.runs].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settled, new Promise((r) => (timer = setTimeout(r, STOP_WAIT_MS)))]);
    clearTimeout(timer);
  }

  /** Runs every job that is due now, each kind within its concurrency, then returns; for tests and tools. */
  async drain(): Promise<number> {
    let done = 0;
    for (;;) {
      const kinds = this.registry.list();
      const batches = await Promise.all(kinds.map((kind) => this.claim(kind, kind.concurrency)));
      const claimed = kinds.flatMap((kind, i) => (batches[i] ?? []).map((job) => ({ job, kind })));
      if (claimed.length === 0) return done;
      await Promise.all(claimed.map(({ job, kind }) => this.runOne(kind, job)));
      done += claimed.length;
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.woken = false;
      let claimed = 0;
      for (const kind of this.registry.list()) {
        if (!this.running) break;
        const free = kind.concurrency - (this.active.get(kind.kind) ?? 0);
        if (free <= 0 || this.idle.has(kind.kind)) continue;
        const batch = await this.claim(kind, free).catch((err: unknown) => {
          this.options.log?.warn({ kind: kind.kind, reason: reasonOf(err) }, 'could not claim jobs');
          return [];
        });
        if (batch.length < free) this.idle.add(kind.kind);
        for (const job of batch) this.spawn(kind, job);
        claimed += batch.length;
      }
      if (claimed === 0) await this.sleep();
    }
  }

  private spawn(kind: RegisteredKind, job: ClaimedJob): void {
    this.active.set(kind.kind, (this.active.get(kind.kind) ?? 0) + 1);
    const controller = new AbortController();
    const entry = { controller, done: Promise.resolve() };
    entry.done = this.runOne(kind, job, controller).finally(() => {
      this.runs.delete(entry);
      this.active.set(kind.kind, (this.active.get(kind.kind) ?? 1) - 1);
      // A slot is free: its kind is asked for again, unless it had nothing more due.
      this.wakeLoop();
    });
    this.runs.add(entry);
  }

  private claim(kind: RegisteredKind, limit: number): Promise<ClaimedJob[]> {
    return this.jobs.claim([kind.kind], limit, Date.now(), kind.timeoutMs + this.options.leaseGraceMs);
  }

  private async runOne(
    kind: RegisteredKind,
    job: ClaimedJob,
    controller = new AbortController(),
  ): Promise<void> {
    // Attempts are counted when claimed: more than the bound means the earlier ones never
    // finished (the process died, or the lease ran out). Give up rather than loop forever.
    if (job.attempts > kind.maxAttempts) {
      const reason = `${job.last_error ?? 'no error recorded'}; attempt ${job.attempts - 1} never finished (the process stopped or the lease ran out)`;
      await this.record(kind, job, reason, true);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const work = Promise.resolve().then(() =>
        kind.run(parsePayload(job.payload), {
          jobId: job.id,
          attempt: job.attempts,
          queuedAt: Number(job.created_at),
          signal: controller.signal,
        }),
      );
      work.catch(() => undefined); // it may settle after the timeout: nobody listens then
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort();
          reject(new Error(`timed out after ${kind.timeoutMs} ms`));
        }, kind.timeoutMs);
      });
      await Promise.race([work, timeout]);
      clearTimeout(timer);
      if (await this.jobs.complete(job.id, job.lease_owner)) {
        this.options.log?.info?.(
          { kind: kind.kind, jobId: job.id, attempt: job.attempts, payload: job.payload },
          'job done',
        );
      } else {
        this.options.log?.warn(
          { kind: kind.kind, jobId: job.id },
          'job finished after its lease was taken over; the new holder runs it',
        );
      }
    } catch (err) {
      clearTimeout(timer);
      // Stopping aborts running jobs: that is no failure of theirs. The lease is left as it is,
      // and the next start (releaseLeases) or its expiry makes the job due again.
      if (this.stopping && controller.signal.aborted) return;
      const giveUp = err instanceof PermanentJobError || job.attempts >= kind.maxAttempts;
      await this.record(kind, job, reasonOf(err), giveUp);
    }
  }

  private async record(
    kind: RegisteredKind,
    job: ClaimedJob,
    reason: string,
    giveUp: boolean,
  ): Promise<void> {
    const now = Date.now();
    const delay = Math.min(this.options.retryBaseMs * 2 ** (job.attempts - 1), this.options.maxRetryMs);
    const retryAt = giveUp ? null : now + delay;
    const fields = { kind: kind.kind, jobId: job.id, attempt: job.attempts, reason };
    try {
      const held = await this.jobs.fail(job.id, job.lease_owner, reason, retryAt, now);
      if (!held) {
        this.options.log?.warn(fields, 'job failed after its lease was taken over; the new holder runs it');
      } else if (giveUp) {
        this.options.log?.warn(fields, `job failed; given up after ${job.attempts} attempts`);
      } else {
        this.options.log?.warn(
          { ...fields, retryAt: new Date(now + delay).toISOString() },
          'job failed; will retry',
        );
      }
    } catch (err) {
      this.options.log?.warn(
        { ...fields, recordError: reasonOf(err) },
        'job failed and the failure could not be recorded',
      );
    }
  }

  private sleep(): Promise<void> {
    if (this.woken || !this.running) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = () => {
        clearTimeout(this.timer);
        this.wake = undefined;
        resolve();
      };
      this.timer = setTimeout(() => {
        // Jobs other processes queued, and retries come due, are found by this poll.
        this.idle.clear();
        this.wake?.();
      }, this.options.pollMs);
    });
  }
}

function parsePayload(payload: string): unknown {
  try {
    return JSON.parse(payload);
  } catch {
    throw new PermanentJobError(`payload is not JSON: ${payload.slice(0, 100)}`);
  }
}

const reasonOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
