import fs from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobWorker } from '../../src/jobs/worker.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { makeDataDir } from '../helpers/server.ts';

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
    const worker = new JobWorker(
      store.jobs,
      {
        flaky: async () => {
          calls++;
          throw new Error('nope');
        },
      },
      { maxAttempts: 2 },
    );
    await store.jobs.enqueue({ kind: 'flaky', payload: {} });
    await worker.drain();
    expect(calls).toBe(1);
    // Not due again until its backoff has passed.
    expect(await worker.drain()).toBe(0);
    const [job] = await store.jobs.claim(['flaky'], 1, Date.now() + 60_000, 1);
    expect(job?.last_error).toBe('nope');
    expect(job?.attempts).toBe(2);
    await store.jobs.fail(job?.id ?? 0, 'nope', null, Date.now());
    expect(await store.jobs.countPending()).toBe(0);
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
