import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { NewJob } from '../store/types.ts';

/** What a running job is told besides its payload. */
export interface JobContext {
  jobId: number;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
  /** When the job was queued (ms). */
  queuedAt: number;
  /** Aborted when the job passes its kind's timeout or the worker stops: stop working then. */
  signal: AbortSignal;
}

/** One kind of job: what its payload is, how many may run at once, how long one may take. */
export interface JobKind<S extends TSchema = TSchema> {
  kind: string;
  /** The payload's schema: a payload that does not match is a failure, never retried. */
  payload: S;
  /** Jobs of this kind running at once in one worker; each kind has its own slots. */
  concurrency: number;
  /** A run taking longer is abandoned (its signal aborted) and counts as a failed attempt. */
  timeoutMs: number;
  /** Attempts before the job is given up on and recorded as failed (default 8). */
  maxAttempts?: number;
  run(payload: Static<S>, context: JobContext): Promise<void>;
}

/** Thrown by a job that cannot succeed however often it is retried: recorded as failed at once. */
export class PermanentJobError extends Error {}

export const DEFAULT_MAX_ATTEMPTS = 8;

/** Declares a kind with its payload type inferred from the schema. */
export const defineJob = <S extends TSchema>(kind: JobKind<S>): JobKind<S> => kind;

/** A job of `kind` to enqueue, its payload checked against the kind's type at compile time. */
export const jobOf = <S extends TSchema>(kind: JobKind<S>, payload: Static<S>, runAt?: number): NewJob => ({
  kind: kind.kind,
  payload,
  ...(runAt === undefined ? {} : { runAt }),
});

export interface RegisteredKind {
  kind: string;
  concurrency: number;
  timeoutMs: number;
  maxAttempts: number;
  /** Checks the stored payload and runs the job. */
  run(payload: unknown, context: JobContext): Promise<void>;
}

/** The kinds a worker runs. A job of a kind not registered here stays queued, untouched. */
export class JobRegistry {
  private readonly kinds = new Map<string, RegisteredKind>();

  register<S extends TSchema>(def: JobKind<S>): this {
    if (this.kinds.has(def.kind)) throw new Error(`job kind ${def.kind} is registered twice`);
    if (!(def.concurrency >= 1) || !(def.timeoutMs > 0)) {
      throw new Error(`job kind ${def.kind} needs a concurrency of 1 or more and a positive timeout`);
    }
    const check = Compile(def.payload);
    this.kinds.set(def.kind, {
      kind: def.kind,
      concurrency: def.concurrency,
      timeoutMs: def.timeoutMs,
      maxAttempts: def.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      run: (payload, context) => {
        if (!check.Check(payload)) {
          throw new PermanentJobError(`payload ${JSON.stringify(payload)} is not a ${def.kind} payload`);
        }
        return def.run(payload as Static<S>, context);
      },
    });
    return this;
  }

  get(kind: string): RegisteredKind | undefined {
    return this.kinds.get(kind);
  }

  list(): RegisteredKind[] {
    return [...this.kinds.values()];
  }
}
