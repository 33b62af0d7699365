import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import type { MetadataStore } from '../../src/store/types.ts';
import { forEachStore } from './stores.ts';

const REPOSITORIES = ['tokens', 'devices'] as const;
const hashOf = (n: number) => n.toString(16).padStart(64, '0');

forEachStore('tokens and devices', (t) => {
  const user = (store: MetadataStore, name: string) =>
    store.users.create({ uid: name, name, email: null, passwordHash: null });

  for (const which of REPOSITORIES) {
    it(`${which}: found by hash with their user, listed, touched and revoked by id or hash`, async () => {
      const repo = t.store[which];
      const alice = await user(t.store, 'alice');
      const bob = await user(t.store, 'bob');
      const a1 = await repo.create(alice.id, hashOf(1), 'pre1', 'laptop');
      const a2 = await repo.create(alice.id, hashOf(2), 'pre2');
      const b1 = await repo.create(bob.id, hashOf(3), 'pre3');
      expect(typeof a1.id).toBe('number');
      expect(typeof a1.created_at).toBe('number');
      expect(a1.last_used_at).toBeNull();
      // A token carries its app (none: a personal one) and its scopes; a device acts with every scope.
      expect(await repo.findByHash(hashOf(2))).toEqual({
        credentialId: a2.id,
        user: alice,
        appId: null,
        scopes: which === 'tokens' ? 'public upload' : null,
      });
      expect(await repo.findByHash(hashOf(9))).toBeUndefined();
      expect((await repo.listForUser(alice.id)).map((r) => r.id)).toEqual([a1.id, a2.id]);
      expect((await repo.listAll()).map((r) => [r.id, r.user_name])).toEqual([
        [a1.id, 'alice'],
        [a2.id, 'alice'],
        [b1.id, 'bob'],
      ]);
      await repo.touch(a1.id, 1_234_567_890_123);
      expect((await repo.listForUser(alice.id))[0]?.last_used_at).toBe(1_234_567_890_123);
      expect(await repo.revoke(a1.id)).toBe(true);
      expect(await repo.revoke(hashOf(3))).toBe(true);
      expect(await repo.revoke(hashOf(3))).toBe(false);
      expect(await repo.findByHash(hashOf(1))).toBeUndefined();
      expect(await repo.findByHash(hashOf(3))).toBeUndefined();
      expect((await repo.listAll()).map((r) => r.id)).toEqual([a2.id]);
    });
  }

  it('stops accepting a token within a second of its revocation by another process', async () => {
    const alice = await user(t.store, 'alice');
    await t.store.tokens.create(alice.id, hashOf(1), 'pre1');
    expect((await t.store.tokens.findByHash(hashOf(1)))?.user.name).toBe('alice');
    const other = await t.another();
    expect(await other.tokens.revoke(hashOf(1))).toBe(true);
    await sleep(1_100);
    expect(await t.store.tokens.findByHash(hashOf(1))).toBeUndefined();
  });
});
