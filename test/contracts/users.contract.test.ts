import { expect, it } from 'vitest';
import { forEachStore } from './stores.ts';

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
});
