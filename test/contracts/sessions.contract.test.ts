import { expect, it } from 'vitest';
import { createUser, forEachStore, hashOf } from './stores.ts';

const HOUR = 3_600_000;

forEachStore('sessions', (t) => {
  const start = (userId: number, n: number, expiresAt: number, userAgent: string | null = null) =>
    t.store.sessions.create({ hash: hashOf(n), userId, expiresAt, userAgent });

  it('creates a session with numbers for ids and times, and finds it with its user by hash only', async () => {
    const alice = await createUser(t.store, 'alice');
    const before = Date.now();
    const expiresAt = before + HOUR;
    const session = await start(alice.id, 1, expiresAt, 'Firefox');
    expect(typeof session.id).toBe('number');
    expect(session).toMatchObject({
      session_hash: hashOf(1),
      user_id: alice.id,
      expires_at: expiresAt,
      user_agent: 'Firefox',
    });
    expect(typeof session.created_at).toBe('number');
    expect(session.created_at).toBeGreaterThanOrEqual(before);
    expect(session.last_seen_at).toBe(session.created_at);
    expect(await t.store.sessions.findByHash(hashOf(1))).toEqual({ session, user: alice });
    expect(await t.store.sessions.findByHash(hashOf(2))).toBeUndefined();
    // A user agent is optional.
    expect((await start(alice.id, 3, expiresAt)).user_agent).toBeNull();
  });

  it('refuses a second session with the same hash, keeping the first as it was', async () => {
    const alice = await createUser(t.store, 'alice');
    const bob = await createUser(t.store, 'bob');
    const first = await start(alice.id, 1, Date.now() + HOUR);
    await expect(start(bob.id, 1, Date.now() + 2 * HOUR)).rejects.toThrow();
    expect((await t.store.sessions.findByHash(hashOf(1)))?.session).toEqual(first);
    expect(await t.store.sessions.listForUser(bob.id, 0)).toEqual([]);
  });

  it('hands out the user as they are now: a disabled user comes with their disabled_at', async () => {
    const alice = await createUser(t.store, 'alice');
    await start(alice.id, 1, Date.now() + HOUR);
    await t.store.users.setDisabled(alice.id, 1_700_000_000_000);
    expect((await t.store.sessions.findByHash(hashOf(1)))?.user.disabled_at).toBe(1_700_000_000_000);
  });

  it('touch moves the idle expiry: listed while expires_at is after now, swept from then on', async () => {
    const alice = await createUser(t.store, 'alice');
    const session = await start(alice.id, 1, 10_000);
    const listed = async (now: number) =>
      (await t.store.sessions.listForUser(alice.id, now)).map((s) => s.session_hash);
    expect(await listed(9_999)).toEqual([hashOf(1)]);
    expect(await listed(10_000)).toEqual([]);
    await t.store.sessions.touch(session.id, 9_000, 20_000);
    const found = await t.store.sessions.findByHash(hashOf(1));
    expect(found?.session).toMatchObject({
      last_seen_at: 9_000,
      expires_at: 20_000,
      created_at: session.created_at,
    });
    expect(await listed(10_000)).toEqual([hashOf(1)]);
    // The sweep takes exactly what the list no longer shows: expires_at at or before now.
    expect(await t.store.sessions.deleteExpired(19_999)).toBe(0);
    expect(await t.store.sessions.deleteExpired(20_000)).toBe(1);
    expect(await t.store.sessions.findByHash(hashOf(1))).toBeUndefined();
  });

  it('sweeps every user’s expired sessions, and only those, answering how many', async () => {
    const alice = await createUser(t.store, 'alice');
    const bob = await createUser(t.store, 'bob');
    await start(alice.id, 1, 1_000);
    await start(bob.id, 2, 2_000);
    await start(bob.id, 3, 5_000);
    const swept = await t.store.sessions.deleteExpired(2_000);
    expect(swept).toBe(2);
    expect(typeof swept).toBe('number');
    expect(await t.store.sessions.findByHash(hashOf(3))).toBeDefined();
    expect(await t.store.sessions.deleteExpired(2_000)).toBe(0);
  });

  it('lists a user’s live sessions only, most recently seen first (ties: newest first)', async () => {
    const alice = await createUser(t.store, 'alice');
    const bob = await createUser(t.store, 'bob');
    const far = Date.now() + HOUR;
    const a = await start(alice.id, 1, far, 'a');
    const b = await start(alice.id, 2, far, 'b');
    const c = await start(alice.id, 3, far, 'c');
    await start(alice.id, 4, 1_000, 'expired');
    await start(bob.id, 5, far, 'bob’s');
    await t.store.sessions.touch(a.id, 5_000, far);
    await t.store.sessions.touch(b.id, 5_000, far);
    await t.store.sessions.touch(c.id, 3_000, far);
    const rows = await t.store.sessions.listForUser(alice.id, 2_000);
    expect(rows.map((r) => r.user_agent)).toEqual(['b', 'a', 'c']);
    expect(rows[0]).toEqual({ ...b, last_seen_at: 5_000 });
  });

  it('revokes one session by hash, or all of a user’s but the one named, never another user’s', async () => {
    const alice = await createUser(t.store, 'alice');
    const bob = await createUser(t.store, 'bob');
    const far = Date.now() + HOUR;
    for (const n of [1, 2, 3, 4]) await start(alice.id, n, far);
    await start(bob.id, 5, far);
    await t.store.sessions.delete(hashOf(1));
    await t.store.sessions.delete(hashOf(1)); // Signing out twice is harmless.
    expect(await t.store.sessions.findByHash(hashOf(1))).toBeUndefined();
    const ended = await t.store.sessions.deleteForUser(alice.id, hashOf(2));
    expect(ended).toBe(2);
    expect(typeof ended).toBe('number');
    const left = async (userId: number) =>
      (await t.store.sessions.listForUser(userId, 0)).map((s) => s.session_hash);
    expect(await left(alice.id)).toEqual([hashOf(2)]);
    expect(await t.store.sessions.deleteForUser(alice.id)).toBe(1);
    expect(await left(alice.id)).toEqual([]);
    expect(await left(bob.id)).toEqual([hashOf(5)]);
  });

  it('is one table for every process: another store sees a session made, touched and ended here', async () => {
    const alice = await createUser(t.store, 'alice');
    const session = await start(alice.id, 1, Date.now() + HOUR);
    const other = await t.another();
    expect((await other.sessions.findByHash(hashOf(1)))?.session).toEqual(session);
    await t.store.sessions.touch(session.id, 7_000, 8_000);
    expect((await other.sessions.findByHash(hashOf(1)))?.session.expires_at).toBe(8_000);
    await other.sessions.deleteForUser(alice.id);
    expect(await t.store.sessions.findByHash(hashOf(1))).toBeUndefined();
  });
});

forEachStore('server secrets', (t) => {
  it('makes a secret once: later calls, here or from another store, get the first value', async () => {
    expect(await t.store.secrets.getOrCreate('cookie', () => 'first')).toBe('first');
    expect(await t.store.secrets.getOrCreate('cookie', () => 'second')).toBe('first');
    const other = await t.another();
    expect(await other.secrets.getOrCreate('cookie', () => 'third')).toBe('first');
    // Each name is its own secret.
    expect(await other.secrets.getOrCreate('csrf', () => 'other')).toBe('other');
    expect(await t.store.secrets.getOrCreate('csrf', () => 'again')).toBe('other');
  });

  it('gives two processes starting at once the same value', async () => {
    const stores = [t.store, await t.another(), await t.another()];
    const values = await Promise.all(
      stores.flatMap((store, i) =>
        [0, 1, 2].map((j) => store.secrets.getOrCreate('cookie', () => `made by ${i}.${j}`)),
      ),
    );
    expect(new Set(values).size).toBe(1);
  });
});
