import fs from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobWorker } from '../../src/jobs/worker.ts';
import { openSqliteStore, SQLITE_FILE } from '../../src/store/index.ts';
import type { JobRow } from '../../src/store/schema.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { makeDataDir } from '../helpers/server.ts';

/** The job table as another connection sees it (the repository has no "list failed jobs"). */
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

describe('JobWorker over the SQLite job table', () => {
  let dir: string;
  let store: MetadataStore;
  beforeEach(async () => {
    dir = await makeDataDir();
    store = await openSqliteStore(dir);
  });
  afterEach(async () => {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('runs each job once and deletes it', async () => {
    const seen: unknown[] = [];
    const worker = new JobWorker(store.jobs, { echo: async (p) => void seen.push(p) });
    await store.jobs.enqueue({ kind: 'echo', payload: { n: 1 } });
    await store.jobs.enqueue({ kind: 'echo', payload: { n: 2 } });
    expect(await worker.drain()).toBe(2);
    expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
    expect(await store.jobs.countPending()).toBe(0);
    expect(await worker.drain()).toBe(0);
  });

  it('retries a failing job later with backoff, and gives up after maxAttempts', async () => {
    let calls = 0;
    const errors: unknown[] = [];
    const worker = new JobWorker(
      store.jobs,
      {
        flaky: async () => {
          calls++;
          throw new Error(`nope ${calls}`);
        },
      },
      { maxAttempts: 3, onError: (err) => errors.push(err) },
    );
    await store.jobs.enqueue({ kind: 'flaky', payload: {} });
    expect(await worker.drain()).toBe(1);
    expect(calls).toBe(1);
    // Not due again until its backoff has passed.
    expect(await worker.drain()).toBe(0);
    expect(await store.jobs.countPending()).toBe(1);

    // Let the backoff pass (move the job's due time back) until the worker itself gives up.
    for (let round = 2; round <= 3; round++) {
      await makeDue(dir);
      expect(await worker.drain()).toBe(1);
      expect(calls).toBe(round);
    }
    // Given up: no longer pending, never claimed again, and the last failure is recorded.
    expect(await store.jobs.countPending()).toBe(0);
    await makeDue(dir);
    expect(await worker.drain()).toBe(0);
    expect(calls).toBe(3);
    expect(errors).toHaveLength(3);
    const [failed] = await jobRows(dir);
    expect(failed).toMatchObject({ kind: 'flaky', attempts: 3, last_error: 'nope 3', locked_until: null });
    expect(failed?.failed_at).toBeGreaterThan(0);
  });

  it('runs a job again when its lease expires (the process that claimed it died)', async () => {
    await store.jobs.enqueue({ kind: 'k', payload: {} });
    const now = Date.now();
    const [first] = await store.jobs.claim(['k'], 5, now, 1000);
    expect(first).toBeDefined();
    expect(await store.jobs.claim(['k'], 5, now + 500, 1000)).toEqual([]);
    const [again] = await store.jobs.claim(['k'], 5, now + 1500, 1000);
    expect(again?.id).toBe(first?.id);
  });

  it('the running loop picks up jobs when nudged', async () => {
    let resolve: () => void = () => undefined;
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    const worker = new JobWorker(store.jobs, { ping: async () => resolve() }, { pollMs: 60_000 });
    worker.start();
    await store.jobs.enqueue({ kind: 'ping', payload: {} });
    worker.nudge();
    await done;
    await worker.stop();
  });
});
