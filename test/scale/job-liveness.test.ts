import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/index.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { queryDatabase, testDatabase } from '../helpers/postgres.ts';

/**
 * On PostgreSQL a job lease is taken over before it expires only when its holder is provably
 * dead: the session that proved the holder alive (store/postgres/liveness.ts) is gone. Here the
 * holder's liveness connection is ended by the server (what a SIGKILLed process amounts to).
 */
describe('PostgreSQL: leases of a dead holder are taken over at once, a live one is left alone', () => {
  let database: Awaited<ReturnType<typeof testDatabase>>;
  const opened: MetadataStore[] = [];
  const open = async () => {
    const store = await openPostgresStore(database.url);
    opened.push(store);
    return store;
  };

  beforeAll(async () => {
    database = await testDatabase();
  });
  afterAll(async () => {
    for (const store of opened) await store.close().catch(() => undefined);
    await database?.drop();
  });

  it('takes over a lease once its holder’s session ends, never while it lives', async () => {
    const holder = await open();
    const other = await open();
    await holder.jobs.enqueue({ kind: 'test.kind', payload: { n: 1 } });
    const hour = 60 * 60 * 1000;
    const [held] = await holder.jobs.claim(['test.kind'], 1, Date.now(), hour);
    expect(held).toBeDefined();
    // Alive, with an hour of lease left: nobody else may take it.
    expect(await other.jobs.claim(['test.kind'], 1, Date.now(), hour)).toEqual([]);

    // The holder "dies": the server ends its sessions (the liveness one among them).
    const key = Number.parseInt((held?.lease_owner ?? '').slice(0, 8), 16);
    expect(key).toBeGreaterThan(0);
    await queryDatabase(
      database.url,
      `SELECT pg_terminate_backend(pid) FROM pg_locks
       WHERE locktype = 'advisory' AND objid = $1::bigint::oid AND objsubid = 2`,
      [key],
    );
    const deadline = Date.now() + 5000;
    let taken: Awaited<ReturnType<MetadataStore['jobs']['claim']>> = [];
    while (taken.length === 0 && Date.now() < deadline) {
      taken = await other.jobs.claim(['test.kind'], 1, Date.now(), hour);
      if (taken.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(taken.map((j) => j.id)).toEqual([held?.id]);
    expect(taken[0]?.attempts).toBe(2);
    // The dead holder's outcome no longer counts; the new holder's does.
    expect(await holder.jobs.complete(held?.id as number, held?.lease_owner as string)).toBe(false);
    expect(await other.jobs.complete(taken[0]?.id as number, taken[0]?.lease_owner as string)).toBe(true);
  });
});
