import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { tokenRepository } from '../../src/store/credentials.repository.ts';
import { type CountedStore, openCountedStore } from '../helpers/counted-store.ts';

/**
 * Token → user lookups are cached in process, and any commit (this process's or another's)
 * must make the next lookup read the database again. A reader that counts its queries shows
 * which lookups reached SQLite.
 */
describe('credential lookups cached until a commit', () => {
  let store: CountedStore;
  const tokens = () => tokenRepository(store.opened.db, store.reader);

  beforeAll(async () => {
    store = await openCountedStore();
  });
  afterAll(async () => {
    vi.useRealTimers();
    await store.close();
  });

  it('answers a repeated lookup from memory while nothing is committed', async () => {
    const repo = tokens();
    await repo.create(store.userId, 'hash-a', 'aaaaaa');
    store.queries = 0;
    const first = await repo.findByHash('hash-a');
    const second = await repo.findByHash('hash-a');
    expect(first?.user.id).toBe(store.userId);
    expect(second).toEqual(first);
    expect(store.queries).toBe(1);
  });

  it('sees a revocation committed by this process at once', async () => {
    const repo = tokens();
    await repo.create(store.userId, 'hash-b', 'bbbbbb');
    expect(await repo.findByHash('hash-b')).toBeDefined();
    expect(await repo.revoke('hash-b')).toBe(true);
    expect(await repo.findByHash('hash-b')).toBeUndefined();
  });

  it('sees a user change and a revocation committed by another process within a second', async () => {
    const repo = tokens();
    await repo.create(store.userId, 'hash-c', 'cccccc');
    const before = await repo.findByHash('hash-c');
    /** How long until `done` holds for the repository's answer (at most 5 s). */
    const until = async (done: (found: Awaited<ReturnType<typeof repo.findByHash>>) => boolean) => {
      const since = Date.now();
      while (!done(await repo.findByHash('hash-c')) && Date.now() - since < 5000) {
        await new Promise((r) => setTimeout(r, 5));
      }
      return Date.now() - since;
    };
    // Another process, with connections of its own: it uploads (the user's version moves) ...
    const other = new SQLite(store.file);
    try {
      other.prepare('UPDATE users SET images_version = images_version + 1 WHERE id = ?').run(store.userId);
      const version = (before?.user.images_version ?? 0) + 1;
      expect(await until((found) => found?.user.images_version === version)).toBeLessThan(1000);
      // ... then revokes the token.
      other.prepare('DELETE FROM access_tokens WHERE token_hash = ?').run('hash-c');
      expect(await until((found) => found === undefined)).toBeLessThan(1000);
    } finally {
      other.close();
    }
  });

  it('keeps nothing read while this process is inside a write transaction', async () => {
    const repo = tokens();
    await repo.create(store.userId, 'hash-e', 'eeeeee');
    const before = await repo.findByHash('hash-e');
    await store.opened.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('users')
        .set((eb) => ({ images_version: eb('images_version', '+', 1) }))
        .where('id', '=', store.userId)
        .execute();
      // The reader sees the last commit, not this transaction: right for now, stale after it.
      expect((await repo.findByHash('hash-e'))?.user.images_version).toBe(before?.user.images_version);
    });
    expect((await repo.findByHash('hash-e'))?.user.images_version).toBe(
      (before?.user.images_version ?? 0) + 1,
    );
  });

  it('keeps no unknown credential, and asks again after a second even with no commit', async () => {
    const repo = tokens();
    await repo.create(store.userId, 'hash-d', 'dddddd');
    store.queries = 0;
    await repo.findByHash('no-such-hash');
    await repo.findByHash('no-such-hash');
    expect(store.queries).toBe(2);

    vi.useFakeTimers({ toFake: ['Date'] });
    store.queries = 0;
    await repo.findByHash('hash-d');
    vi.setSystemTime(Date.now() + 500);
    await repo.findByHash('hash-d');
    expect(store.queries).toBe(1);
    vi.setSystemTime(Date.now() + 600);
    await repo.findByHash('hash-d');
    expect(store.queries).toBe(2);
    vi.useRealTimers();
  });
});
