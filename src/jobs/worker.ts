import type { JobRow } from '../store/schema.ts';
import type { JobRepository } from '../store/types.ts';

export type JobHandler = (payload: unknown, job: JobRow) => Promise<void>;

export interface WorkerOptions {
  /** Jobs run at once. */
  concurrency: number;
  /** How long to wait between polls when the queue is empty. */
  pollMs: number;
  /** A claimed job not finished within this is assumed lost (its process died) and runs again. */
  leaseMs: number;
  maxAttempts: number;
  onError?: (err: unknown, job: JobRow) => void;
}

const DEFAULTS: WorkerOptions = { concurrency: 2, pollMs: 1000, leaseMs: 5 * 60_000, maxAttempts: 8 };

/**
 * Runs persisted jobs: claims due ones with a lease, runs their handler, deletes them on
 * success and retries with exponential backoff on failure. `nudge()` wakes it early after an
 * enqueue in this process; other processes' jobs are found by polling.
 */
export class JobWorker {
  private readonly options: WorkerOptions;
  private running = false;
  private active = 0;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly jobs: JobRepository,
    private readonly handlers: Record<string, JobHandler>,
    options: Partial<WorkerOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  nudge(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.nudge();
    await this.loop;
  }

  /** Runs every job that is due now, then returns; for tests and one-shot tools. */
  async drain(): Promise<number> {
    let done = 0;
    for (;;) {
      const batch = await this.claim(this.options.concurrency);
      if (batch.length === 0) return done;
      await Promise.all(batch.map((job) => this.runOne(job)));
      done += batch.length;
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      const free = this.options.concurrency - this.active;
      const batch = free > 0 ? await this.claim(free).catch(() => []) : [];
      for (const job of batch) {
        this.active++;
        void this.runOne(job).finally(() => {
          this.active--;
          this.nudge();
        });
      }
      if (batch.length === 0 || this.active >= this.options.concurrency) await this.sleep();
    }
  }

  private claim(limit: number): Promise<JobRow[]> {
    return this.jobs.claim(Object.keys(this.handlers), limit, Date.now(), this.options.leaseMs);
  }

  private async runOne(job: JobRow): Promise<void> {
    const handler = this.handlers[job.kind];
    try {
      if (!handler) throw new Error(`no handler for job kind ${job.kind}`);
      await handler(JSON.parse(job.payload), job);
      await this.jobs.complete(job.id);
    } catch (err) {
      this.options.onError?.(err, job);
      const giveUp = job.attempts >= this.options.maxAttempts;
      const retryAt = giveUp ? null : Date.now() + Math.min(2 ** job.attempts * 1000, 3_600_000);
      await this.jobs
        .fail(job.id, String((err as Error)?.message ?? err), retryAt, Date.now())
        .catch(() => undefined);
    }
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = () => {
        clearTimeout(this.timer);
        this.wake = undefined;
        resolve();
      };
      this.timer = setTimeout(() => this.wake?.(), this.options.pollMs);
    });
  }
}
