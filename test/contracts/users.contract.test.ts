import { expect, it } from 'vitest';
import { forEachStore } from './stores.ts';

const named = (name: string, isAdmin?: boolean) => ({
  uid: name,
  name,
  email: null,
  passwordHash: null,
  isAdmin,
});

forEachStore('users', (t) => {
  it('creates users with numbers for ids and times, finds them by id and name, lists them in order', async () => {
    const before = Date.now();
    const alice = await t.store.users.create({
      uid: 'u1',
      name: 'alice',
      email: 'a@example.com',
      passwordHash: 'h',
    });
    const bob = await t.store.users.create({ uid: 'u2', name: 'bob', email: null, passwordHash: null });
    expect(typeof alice.id).toBe('number');
    expect(typeof alice.created_at).toBe('number');
    expect(alice.created_at).toBeGreaterThanOrEqual(before);
    expect(alice).toMatchObject({ name: 'alice', email: 'a@example.com', image_count: 0, images_version: 0 });
    expect(await t.store.users.findById(bob.id)).toEqual(bob);
    expect(await t.store.users.findByName('alice')).toEqual(alice);
    expect(await t.store.users.findByName('carol')).toBeUndefined();
    expect((await t.store.users.list()).map((u) => u.name)).toEqual(['alice', 'bob']);
  });

  it('refuses a second user with the same name', async () => {
    await t.store.users.create({ uid: 'u1', name: 'alice', email: null, passwordHash: null });
    await expect(
      t.store.users.create({ uid: 'u2', name: 'alice', email: null, passwordHash: null }),
    ).rejects.toThrow();
    expect(await t.store.users.list()).toHaveLength(1);
  });

  it('makes exactly one of the first users signing up at once, on several processes, the admin', async () => {
    const stores = [t.store, await t.peer(), await t.peer(), await t.peer(), await t.peer()];
    const made = await Promise.all(stores.map((store, i) => store.users.create(named(`first${i}`))));
    expect(made.filter((u) => u.is_admin === 1)).toHaveLength(1);
    expect((await t.store.users.list()).filter((u) => u.is_admin === 1)).toHaveLength(1);
  });

  it('never lets two admins taking each other’s rights away at once, on two processes, leave no admin', async () => {
    const peer = await t.peer();
    for (let round = 0; round < 30; round++) {
      const a = await t.store.users.create(named(`a${round}`, true));
      const b = await t.store.users.create(named(`b${round}`, true));
      const [disabledA, unadminedB] = await Promise.all([
        t.store.users.takeAway(a.id, 'disable', 1_000),
        peer.users.takeAway(b.id, 'unadmin', 1_000),
      ]);
      expect([disabledA, unadminedB].filter(Boolean), `round ${round}`).toHaveLength(1);
      expect(await t.store.users.hasActiveAdmin(), `round ${round}`).toBe(true);
      // Out of the next round: neither is an admin who could be left.
      for (const id of [a.id, b.id]) await t.store.users.setDisabled(id, 1_000);
    }
  });
});
