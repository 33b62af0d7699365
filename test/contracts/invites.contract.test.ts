import { expect, it } from 'vitest';
import type { NewUser } from '../../src/store/types.ts';
import { createUser, forEachStore, hashOf } from './stores.ts';

const signUp = (name: string): NewUser => ({
  uid: `uid-${name}`,
  name,
  email: `${name}@example.com`,
  passwordHash: 'h',
});

forEachStore('invites', (t) => {
  const invite = (createdBy: number, n: number, expiresAt: number) =>
    t.store.invites.create({ hash: hashOf(n), createdBy, createdAt: Date.now(), expiresAt });

  it('makes an invite with numbers for ids and times, usable until (not at) its expiry', async () => {
    const admin = await createUser(t.store, 'admin');
    const before = Date.now();
    const row = await invite(admin.id, 1, 10_000);
    expect(typeof row.id).toBe('number');
    expect(row).toMatchObject({
      invite_hash: hashOf(1),
      created_by: admin.id,
      expires_at: 10_000,
      used_at: null,
      used_by: null,
    });
    expect(row.created_at).toBeGreaterThanOrEqual(before);
    expect(await t.store.invites.findUsable(hashOf(1), 9_999)).toEqual(row);
    expect(await t.store.invites.findUsable(hashOf(1), 10_000)).toBeUndefined();
    expect(await t.store.invites.findUsable(hashOf(2), 0)).toBeUndefined();
  });

  it('lists the usable invites newest first with their maker’s name; not used, expired or revoked ones', async () => {
    const admin = await createUser(t.store, 'admin');
    const other = await createUser(t.store, 'root');
    const a = await invite(admin.id, 1, 10_000);
    const b = await invite(other.id, 2, 10_000);
    await invite(admin.id, 3, 5_000);
    const d = await invite(admin.id, 4, 10_000);
    const e = await invite(admin.id, 5, 10_000);
    await t.store.invites.redeem(hashOf(4), 1_000, signUp('carol'));
    expect(await t.store.invites.revoke(e.id)).toBe(true);
    expect(await t.store.invites.listUsable(5_000)).toEqual([
      { ...b, created_by_name: 'root' },
      { ...a, created_by_name: 'admin' },
    ]);
    // A used invite is not revoked (its row says who signed up with it); an unknown one neither.
    expect(await t.store.invites.revoke(d.id)).toBe(false);
    expect(await t.store.invites.revoke(e.id)).toBe(false);
    expect(await t.store.invites.revoke(e.id + 100)).toBe(false);
  });

  it('redeems once: makes the user and records who used it when; then and when expired, makes nobody', async () => {
    const admin = await createUser(t.store, 'admin');
    await invite(admin.id, 1, 10_000);
    await invite(admin.id, 2, 10_000);
    const carol = await t.store.invites.redeem(hashOf(1), 2_000, signUp('carol'));
    expect(carol).toMatchObject({ name: 'carol', email: 'carol@example.com', is_admin: 0 });
    expect(await t.store.users.findByName('carol')).toEqual(carol);
    expect(await t.store.invites.findUsable(hashOf(1), 2_000)).toBeUndefined();
    expect(await t.store.invites.redeem(hashOf(1), 2_001, signUp('dave'))).toBeUndefined();
    expect(await t.store.invites.redeem(hashOf(2), 10_000, signUp('erin'))).toBeUndefined();
    expect(await t.store.invites.redeem(hashOf(3), 0, signUp('frank'))).toBeUndefined();
    expect((await t.store.users.list()).map((u) => u.name)).toEqual(['admin', 'carol']);
    // The used row keeps who and when (another process reads it back as numbers too).
    const other = await t.another();
    expect(await other.invites.listUsable(2_000)).toEqual([
      expect.objectContaining({ invite_hash: hashOf(2) }),
    ]);
    const used = await other.dataCopy.rowsAfter('invites', undefined, 10);
    expect(used[0]).toMatchObject({ used_at: 2_000, used_by: carol?.id });
  });

  it('keeps the invite usable when the sign-up fails (the name is taken), and makes no user', async () => {
    const admin = await createUser(t.store, 'admin');
    await invite(admin.id, 1, 10_000);
    await expect(t.store.invites.redeem(hashOf(1), 1_000, signUp('admin'))).rejects.toThrow();
    expect(await t.store.invites.findUsable(hashOf(1), 1_000)).toBeDefined();
    expect(await t.store.users.list()).toHaveLength(1);
    expect((await t.store.invites.redeem(hashOf(1), 1_000, signUp('carol')))?.name).toBe('carol');
  });

  it('lets exactly one of many sign-ups racing with one link, on several processes, make a user', async () => {
    const admin = await createUser(t.store, 'admin');
    const stores = [t.store, await t.peer(), await t.peer()];
    for (let round = 0; round < 8; round++) {
      await invite(admin.id, round, Date.now() + 60_000);
      const made = await Promise.all(
        stores.flatMap((store, i) =>
          [0, 1].map((j) => store.invites.redeem(hashOf(round), Date.now(), signUp(`u${round}x${i}x${j}`))),
        ),
      );
      expect(
        made.filter((u) => u !== undefined),
        `round ${round}`,
      ).toHaveLength(1);
    }
    expect(await t.store.users.list()).toHaveLength(1 + 8);
  });
});
