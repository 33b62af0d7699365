import fs from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import Type from 'typebox';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineJob, JobRegistry, jobOf, PermanentJobError } from '../../src/jobs/registry.ts';
import { JobWorker } from '../../src/jobs/worker.ts';
import { openSqliteStore, SQLITE_FILE } from '../../src/store/index.ts';
import type { JobRow } from '../../src/store/schema.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { makeDataDir } from '../helpers/server.ts';

/** The job table as another connection sees it. */
function withDb<T>(dir: string, work: (db: Database.Database) => T): T {
  const db = new Database(path.join(dir, SQLITE_FILE));
  try {
    return work(db);
  } finally {
    db.close();
  }
}
const jobRows = async (dir: string) =>
  withDb(dir, (db) => db.prepare('SELECT * FROM jobs ORDER BY id').all() as JobRow[]);
/** Moves every job's due time into the past, as if its backoff had passed. */
const makeDue = async (dir: string) => withDb(dir, (db) => db.prepare('UPDATE jobs SET run_at = 0').run());

const Any = Type.Object({});
const kind = (
  name: string,
  run: () => Promise<void>,
  extra: { concurrency?: number; timeoutMs?: number; maxAttempts?: number } = {},
) => defineJob({ kind: name, payload: Any, concurrency: 1, timeoutMs: 10_000, ...extra, run });

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function logSink() {
  const lines: Array<{ fields: Record<string, unknown>; message: string }> = [];
  return {
    lines,
    log: { warn: (fields: Record<string, unknown>, message: string) => lines.push({ fields, message }) },
  };
}

describe('the job queue over the SQLite job table', () => {
  let dir: string;
  let store: MetadataStore;
  let worker: JobWorker | undefined;
  beforeEach(async () => {
    dir = await makeDataDir();
    store = await openSqliteStore(dir);
  });
  afterEach(async () => {
    await worker?.stop();
    worker = undefined;
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('runs each job once with its typed payload and deletes it', async () => {
    const seen: unknown[] = [];
    const echo = defineJob({
      kind: 'echo',
      payload: Type.Object({ n: Type.Number() }),
      concurrency: 2,
      timeoutMs: 10_000,
      run: async (payload) => void seen.push(payload.n),
    });
    worker = new JobWorker(store.jobs, new JobRegistry().register(echo));
    await store.jobs.enqueue(jobOf(echo, { n: 1 }));
    await store.jobs.enqueue(jobOf(echo, { n: 2 }));
    expect(await worker.drain()).toBe(2);
    expect(seen.sort()).toEqual([1, 2]);
    expect(await store.jobs.countPending()).toBe(0);
    expect(await worker.drain()).toBe(0);
  });

  it('only the current lease holder can complete or fail a job; an expired lease is taken over', async () => {
    await store.jobs.enqueue({ kind: 'k', payload: {} });
    const now = Date.now();
    const [first] = await store.jobs.claim(['k'], 5, now, 1000);
    if (!first) throw new Error('nothing claimed');
    expect(first.lease_owner).toMatch(/^[0-9a-f]{32}$/);
    // Still leased: nobody else gets it.
    expect(await store.jobs.claim(['k'], 5, now + 500, 1000)).toEqual([]);
    // Expired: the next claim takes it over, with a token of its own.
    const [second] = await store.jobs.claim(['k'], 5, now + 1500, 1000);
    expect(second?.id).toBe(first.id);
    expect(second?.lease_owner).not.toBe(first.lease_owner);
    if (!second) throw new Error('not taken over');

    // The old holder's outcome changes nothing.
    expect(await store.jobs.complete(first.id, first.lease_owner)).toBe(false);
    expect(await store.jobs.fail(first.id, first.lease_owner, 'old holder', null, now)).toBe(false);
    const [row] = await jobRows(dir);
    expect(row).toMatchObject({
      id: first.id,
      lease_owner: second.lease_owner,
      failed_at: null,
      last_error: null,
    });

    // The new holder's does.
    expect(await store.jobs.complete(second.id, second.lease_owner)).toBe(true);
    expect(await jobRows(dir)).toEqual([]);
  });

  it('a worker whose lease was taken over does not delete the job the new holder runs', async () => {
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((r) => {
      release = r;
    });
    const { lines, log } = logSink();
    worker = new JobWorker(store.jobs, new JobRegistry().register(kind('slow', () => blocked)), {
      leaseGraceMs: 0,
      log,
    });
    await store.jobs.enqueue({ kind: 'slow', payload: {} });
    const run = worker.drain();
    await until('the job is leased', async () => (await jobRows(dir))[0]?.lease_owner != null);
    // Another worker takes the job over as if the lease had expired.
    const [taken] = await store.jobs.claim(['slow'], 1, Date.now() + 60_000, 60_000);
    expect(taken).toBeDefined();
    release();
    await run;
    const [row] = await jobRows(dir);
    expect(row?.lease_owner).toBe(taken?.lease_owner);
    expect(lines.map((l) => l.message).join('\n')).toMatch(/lease was taken over/);
  });

  it('a failing job ends as a recorded failure, not a loop, with the worker running', async () => {
    let calls = 0;
    const { lines, log } = logSink();
    worker = new JobWorker(
      store.jobs,
      new JobRegistry().register(
        kind(
          'flaky',
          async () => {
            calls++;
            throw new Error(`nope ${calls}`);
          },
          { maxAttempts: 3 },
        ),
      ),
      { pollMs: 20, retryBaseMs: 20, log },
    );
    worker.start();
    await store.jobs.enqueue({ kind: 'flaky', payload: {} });
    worker.nudge();
    await until('the job is given up on', async () => (await jobRows(dir))[0]?.failed_at != null);
    // Left running, it never tries again.
    await new Promise((r) => setTimeout(r, 300));
    expect(calls).toBe(3);
    const [failed] = await jobRows(dir);
    expect(failed).toMatchObject({ kind: 'flaky', attempts: 3, last_error: 'nope 3', locked_until: null });
    expect(await store.jobs.countPending()).toBe(0);
    expect(await store.jobs.counts(Date.now())).toEqual([
      { kind: 'flaky', pending: 0, running: 0, failed: 1 },
    ]);
    expect((await store.jobs.listFailed(10)).map((j) => j.last_error)).toEqual(['nope 3']);
    // Each failure is logged at warn with the kind, the job id and the reason.
    expect(lines).toHaveLength(3);
    for (const [i, line] of lines.entries()) {
      expect(line.fields).toMatchObject({ kind: 'flaky', jobId: failed?.id, reason: `nope ${i + 1}` });
    }
    expect(lines[2]?.message).toMatch(/given up after 3 attempts/);
  });

  it('retries with growing backoff before giving up', async () => {
    let calls = 0;
    worker = new JobWorker(
      store.jobs,
      new JobRegistry().register(
        kind(
          'later',
          async () => {
            calls++;
            throw new Error('down');
          },
          { maxAttempts: 4 },
        ),
      ),
      { retryBaseMs: 60_000 },
    );
    await store.jobs.enqueue({ kind: 'later', payload: {} });
    const t0 = Date.now();
    expect(await worker.drain()).toBe(1);
    const first = (await jobRows(dir))[0];
    expect(first?.run_at).toBeGreaterThanOrEqual(t0 + 60_000);
    // Not due again until its backoff has passed.
    expect(await worker.drain()).toBe(0);
    await makeDue(dir);
    const t1 = Date.now();
    expect(await worker.drain()).toBe(1);
    expect((await jobRows(dir))[0]?.run_at).toBeGreaterThanOrEqual(t1 + 120_000);
    expect(calls).toBe(2);
  });

  it('a job that passes its timeout is a failed attempt, and frees its slot', async () => {
    const { lines, log } = logSink();
    let signalled = false;
    const hang = defineJob({
      kind: 'hang',
      payload: Any,
      concurrency: 1,
      timeoutMs: 100,
      maxAttempts: 1,
      run: (_p, { signal }) =>
        new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => {
            signalled = true;
            setTimeout(resolve, 5000); // ignores it for a while: the worker must not wait
          });
        }),
    });
    worker = new JobWorker(store.jobs, new JobRegistry().register(hang), { log, pollMs: 20 });
    worker.start();
    await store.jobs.enqueue({ kind: 'hang', payload: {} });
    await store.jobs.enqueue({ kind: 'hang', payload: {} });
    worker.nudge();
    await until(
      'both hanging jobs time out',
      async () => (await jobRows(dir)).filter((r) => r.failed_at).length === 2,
      5000,
    );
    expect(signalled).toBe(true);
    expect((await jobRows(dir)).map((r) => r.last_error)).toEqual([
      'timed out after 100 ms',
      'timed out after 100 ms',
    ]);
    expect(lines.every((l) => l.fields.kind === 'hang')).toBe(true);
  });

  it('a payload that is not of its kind fails at once, with the reason', async () => {
    let calls = 0;
    const typed = defineJob({
      kind: 'typed',
      payload: Type.Object({ imageId: Type.String() }),
      concurrency: 1,
      timeoutMs: 1000,
      run: async () => void calls++,
    });
    worker = new JobWorker(store.jobs, new JobRegistry().register(typed));
    await store.jobs.enqueue({ kind: 'typed', payload: { imageId: 42 } });
    // Written by hand, not JSON at all: it fails alone, and blocks nothing.
    withDb(dir, (db) =>
      db
        .prepare("INSERT INTO jobs (kind, payload, run_at, created_at) VALUES ('typed', '{not json', 0, 0)")
        .run(),
    );
    await store.jobs.enqueue({ kind: 'typed', payload: { imageId: 'abc' } });
    expect(await worker.drain()).toBe(3);
    expect(calls).toBe(1);
    const [row, broken, good] = await jobRows(dir);
    expect(good).toBeUndefined();
    expect(row?.failed_at).not.toBeNull();
    expect(row?.attempts).toBe(1);
    expect(row?.last_error).toMatch(/not a typed payload/);
    expect(broken?.failed_at).not.toBeNull();
    expect(broken?.last_error).toMatch(/payload is not JSON/);
  });

  it('a PermanentJobError is not retried', async () => {
    worker = new JobWorker(
      store.jobs,
      new JobRegistry().register(
        kind('doomed', async () => {
          throw new PermanentJobError('the pixels do not decode');
        }),
      ),
    );
    await store.jobs.enqueue({ kind: 'doomed', payload: {} });
    expect(await worker.drain()).toBe(1);
    expect((await jobRows(dir))[0]).toMatchObject({ attempts: 1, last_error: 'the pixels do not decode' });
    expect((await jobRows(dir))[0]?.failed_at).not.toBeNull();
  });

  it('gives up on a job whose every attempt was interrupted, instead of running it forever', async () => {
    let calls = 0;
    worker = new JobWorker(
      store.jobs,
      new JobRegistry().register(kind('crashy', async () => void calls++, { maxAttempts: 2 })),
    );
    await store.jobs.enqueue({ kind: 'crashy', payload: {} });
    // Two claims whose holders died (their leases released at the next start).
    for (let i = 0; i < 2; i++) {
      expect(await store.jobs.claim(['crashy'], 1, Date.now(), 60_000)).toHaveLength(1);
      await store.jobs.releaseLeases();
    }
    expect(await worker.drain()).toBe(1);
    expect(calls).toBe(0);
    const [row] = await jobRows(dir);
    expect(row?.failed_at).not.toBeNull();
    expect(row?.last_error).toMatch(/never finished/);
  });

  it('each kind runs within its own concurrency: a slow kind does not block another', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let slowRunning = 0;
    let slowPeak = 0;
    let fastDone = 0;
    const slow = kind(
      'slow',
      async () => {
        slowRunning++;
        slowPeak = Math.max(slowPeak, slowRunning);
        await gate;
        slowRunning--;
      },
      { concurrency: 2 },
    );
    const fast = kind('fast', async () => void fastDone++);
    worker = new JobWorker(store.jobs, new JobRegistry().register(slow).register(fast), { pollMs: 20 });
    for (let i = 0; i < 6; i++) await store.jobs.enqueue({ kind: 'slow', payload: {} });
    worker.start();
    await until('both slow slots are taken', () => slowRunning === 2);
    for (let i = 0; i < 5; i++) await store.jobs.enqueue({ kind: 'fast', payload: {} });
    worker.nudge();
    // Every fast job runs while the slow kind still has all its slots busy.
    await until('the fast jobs run', () => fastDone === 5);
    expect(slowRunning).toBe(2);
    const counts = await store.jobs.counts(Date.now());
    expect(counts).toEqual([{ kind: 'slow', pending: 4, running: 2, failed: 0 }]);
    release();
    await until('the slow jobs finish', async () => (await store.jobs.countPending()) === 0);
    expect(slowPeak).toBe(2);
  });

  it('the running loop picks up jobs when nudged', async () => {
    let resolve: () => void = () => undefined;
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    worker = new JobWorker(store.jobs, new JobRegistry().register(kind('ping', async () => resolve())), {
      pollMs: 60_000,
    });
    worker.start();
    await store.jobs.enqueue({ kind: 'ping', payload: {} });
    worker.nudge();
    await done;
  });

  it('leaves jobs of kinds it does not know alone', async () => {
    worker = new JobWorker(store.jobs, new JobRegistry().register(kind('known', async () => undefined)));
    await store.jobs.enqueue({ kind: 'unknown', payload: {} });
    expect(await worker.drain()).toBe(0);
    expect(await jobRows(dir)).toMatchObject([{ kind: 'unknown', attempts: 0, failed_at: null }]);
  });

  describe('asking the table only for kinds that may have work', () => {
    /** store.jobs, counting the claims made for each kind. */
    function countingJobs() {
      const claims = new Map<string, number>();
      const jobs = Object.create(store.jobs) as typeof store.jobs;
      jobs.claim = (kinds, ...rest) => {
        for (const k of kinds) claims.set(k, (claims.get(k) ?? 0) + 1);
        return store.jobs.claim(kinds, ...rest);
      };
      return { jobs, claimsOf: (k: string) => claims.get(k) ?? 0 };
    }

    it('a finished job does not make the worker ask again for kinds that had nothing due', async () => {
      const { jobs, claimsOf } = countingJobs();
      let done = 0;
      const registry = new JobRegistry()
        .register(kind('busy', async () => void done++))
        .register(kind('quiet', async () => undefined))
        .register(kind('still', async () => undefined));
      for (let i = 0; i < 30; i++) await store.jobs.enqueue({ kind: 'busy', payload: {} });
      worker = new JobWorker(jobs, registry, { pollMs: 60_000 });
      worker.start();
      await until('the busy jobs run', () => done === 30);
      // One job at a time: each finish asks for the next busy job, and only for that.
      expect(claimsOf('busy')).toBeGreaterThanOrEqual(30);
      expect(claimsOf('quiet')).toBe(1);
      expect(claimsOf('still')).toBe(1);
    });

    it('a nudge for some kinds asks for those only, and finds their jobs', async () => {
      const { jobs, claimsOf } = countingJobs();
      const ran: string[] = [];
      const registry = new JobRegistry()
        .register(kind('a', async () => void ran.push('a')))
        .register(kind('b', async () => void ran.push('b')));
      worker = new JobWorker(jobs, registry, { pollMs: 60_000 });
      worker.start();
      await until('the first look', () => claimsOf('a') === 1 && claimsOf('b') === 1);
      await store.jobs.enqueue({ kind: 'b', payload: {} });
      worker.nudge(['b']);
      await until('the b job runs', () => ran.length === 1);
      expect(ran).toEqual(['b']);
      expect(claimsOf('a')).toBe(1);
      // Without kinds, a nudge asks for all of them again.
      await store.jobs.enqueue({ kind: 'a', payload: {} });
      worker.nudge();
      await until('the a job runs', () => ran.length === 2);
    });

    it('a worker started again looks at every kind again', async () => {
      let ran = 0;
      worker = new JobWorker(store.jobs, new JobRegistry().register(kind('again', async () => void ran++)), {
        pollMs: 60_000,
      });
      worker.start();
      await worker.stop();
      await store.jobs.enqueue({ kind: 'again', payload: {} });
      worker.start();
      await until('the job queued while stopped runs', () => ran === 1, 5000);
    });

    it('still finds, by polling, jobs queued without a nudge (another process, a retry come due)', async () => {
      let ran = 0;
      worker = new JobWorker(store.jobs, new JobRegistry().register(kind('later', async () => void ran++)), {
        pollMs: 30,
      });
      worker.start();
      await new Promise((r) => setTimeout(r, 50));
      await store.jobs.enqueue({ kind: 'later', payload: {} });
      await until('the job queued without a nudge runs', () => ran === 1, 5000);
    });
  });
});
