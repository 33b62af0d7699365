import { expect, it } from 'vitest';
import type { ClaimedJob } from '../../src/store/types.ts';
import { imageRow } from '../helpers/rows.ts';
import { forEachStore } from './stores.ts';

const KIND = 'test.work';

forEachStore('jobs', (t) => {
  it('hands a due job to one claim, with its own owner token; only that owner completes it', async () => {
    const now = Date.now();
    await t.store.jobs.enqueue({ kind: KIND, payload: { n: 1 } });
    await t.store.jobs.enqueue({ kind: KIND, payload: { n: 2 }, runAt: now + 60_000 });
    await t.store.jobs.enqueue({ kind: 'other.kind', payload: {} });
    const [job, ...rest] = await t.store.jobs.claim([KIND], 10, now + 1, 5_000);
    expect(rest).toEqual([]);
    expect(job).toMatchObject({ kind: KIND, payload: JSON.stringify({ n: 1 }), attempts: 1 });
    expect(typeof job?.locked_until).toBe('number');
    expect(job?.lease_owner).toMatch(/^[0-9a-f]{32}$/);
    // Leased: no second claim gets it while the lease runs.
    expect(await t.store.jobs.claim([KIND], 10, now + 2, 5_000)).toEqual([]);
    const claimed = job as ClaimedJob;
    expect(await t.store.jobs.complete(claimed.id, 'not-the-owner')).toBe(false);
    expect(await t.store.jobs.complete(claimed.id, claimed.lease_owner)).toBe(true);
    expect(await t.store.jobs.complete(claimed.id, claimed.lease_owner)).toBe(false);
    expect(await t.store.jobs.countPending()).toBe(2);
  });

  it('takes over an expired lease only, under a new owner; the old owner then changes nothing', async () => {
    const now = Date.now();
    await t.store.jobs.enqueue({ kind: KIND, payload: {}, runAt: now - 1 });
    const [first] = (await t.store.jobs.claim([KIND], 1, now, 1_000)) as ClaimedJob[];
    expect(await t.store.jobs.claim([KIND], 1, now + 999, 1_000)).toEqual([]);
    const [second] = (await t.store.jobs.claim([KIND], 1, now + 1_001, 1_000)) as ClaimedJob[];
    expect(second?.id).toBe(first?.id);
    expect(second?.attempts).toBe(2);
    expect(second?.lease_owner).not.toBe(first?.lease_owner);
    expect(await t.store.jobs.fail(first?.id ?? 0, first?.lease_owner ?? '', 'late', null, now)).toBe(false);
    expect(await t.store.jobs.complete(first?.id ?? 0, first?.lease_owner ?? '')).toBe(false);
    expect(await t.store.jobs.complete(second?.id ?? 0, second?.lease_owner ?? '')).toBe(true);
  });

  it('retries a failure at its time, records a final one, and counts and lists them', async () => {
    const now = Date.now();
    await t.store.jobs.enqueueMany([
      { kind: KIND, payload: { n: 1 }, runAt: now - 10 },
      { kind: KIND, payload: { n: 2 }, runAt: now - 5 },
    ]);
    const [a, b] = (await t.store.jobs.claim([KIND], 2, now, 10_000)) as ClaimedJob[];
    expect(await t.store.jobs.fail(a?.id ?? 0, a?.lease_owner ?? '', 'try later', now + 500, now)).toBe(true);
    expect(await t.store.jobs.fail(b?.id ?? 0, b?.lease_owner ?? '', 'broken for good', null, now)).toBe(
      true,
    );
    expect(await t.store.jobs.counts(now)).toEqual([{ kind: KIND, pending: 1, running: 0, failed: 1 }]);
    expect(await t.store.jobs.claim([KIND], 5, now + 499, 1_000)).toEqual([]);
    const [again] = await t.store.jobs.claim([KIND], 5, now + 500, 1_000);
    expect(again?.id).toBe(a?.id);
    expect(await t.store.jobs.counts(now + 501)).toEqual([{ kind: KIND, pending: 0, running: 1, failed: 1 }]);
    const failed = await t.store.jobs.listFailed(10);
    expect(failed).toEqual([
      {
        id: b?.id,
        kind: KIND,
        payload: JSON.stringify({ n: 2 }),
        attempts: 1,
        failed_at: now,
        last_error: 'broken for good',
      },
    ]);
    expect(await t.store.jobs.countPending()).toBe(1);
  });

  it('never hands one job to two claimers claiming at the same time', async () => {
    const n = 300;
    await t.store.jobs.enqueueMany(Array.from({ length: n }, (_, i) => ({ kind: KIND, payload: { i } })));
    const claimers = [t.store, await t.peer(), await t.peer(), await t.peer()];
    const seen = new Map<number, number>();
    await Promise.all(
      claimers.map(async (store) => {
        for (;;) {
          const jobs = await store.jobs.claim([KIND], 7, Date.now(), 60_000);
          if (jobs.length === 0) return;
          for (const job of jobs) {
            seen.set(job.id, (seen.get(job.id) ?? 0) + 1);
            expect(await store.jobs.complete(job.id, job.lease_owner)).toBe(true);
          }
        }
      }),
    );
    expect(seen.size).toBe(n);
    expect([...seen.values()].every((times) => times === 1)).toBe(true);
    expect(await t.store.jobs.countPending()).toBe(0);
  });

  it('queues one job per image for a rerun, replacing failures and skipping queued ones', async () => {
    const user = await t.store.users.create({ uid: 'u', name: 'u', email: null, passwordHash: null });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const row = imageRow(user.id, 1000 + i);
      await t.store.images.insert(row, await t.store.blobLedger.addPending(row.blob_key, Date.now()));
      ids.push(row.image_id);
    }
    expect(await t.store.jobs.queueForImages(KIND, [ids[0] as string, 'no-such-image'])).toBe(1);
    expect(await t.store.jobs.queueForImages(KIND, undefined)).toBe(2);
    expect(await t.store.jobs.queueForImages(KIND, undefined)).toBe(0);
    const jobs = await t.store.jobs.claim([KIND], 10, Date.now() + 1, 10_000);
    expect(jobs.map((j) => JSON.parse(j.payload)).sort((x, y) => x.imageId.localeCompare(y.imageId))).toEqual(
      [...ids].sort().map((imageId) => ({ imageId, rerun: true })),
    );
    const first = jobs[0] as ClaimedJob;
    await t.store.jobs.fail(first.id, first.lease_owner, 'no', null, Date.now());
    expect(await t.store.jobs.queueForImages(KIND, undefined)).toBe(1);
    expect((await t.store.jobs.counts(Date.now())).find((c) => c.kind === KIND)).toMatchObject({ failed: 0 });
  });
});
