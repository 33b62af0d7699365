import fs from 'node:fs/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { tokenRepository } from '../../src/store/credentials.repository.ts';
import { type OpenDatabase, openSqlite } from '../../src/store/database.ts';
import { SQLITE_FILE } from '../../src/store/index.ts';
import type { ReadRunner } from '../../src/store/reusable-query.ts';
import { KyselyUserRepository } from '../../src/store/users.repository.ts';
import { makeDataDir } from '../helpers/server.ts';

/**
 * Token → user lookups are cached in process, and any commit (this process's or another's)
 * must make the next lookup read the database again. A reader that counts its queries shows
 * which lookups reached SQLite.
 */
describe('credential lookups cached until a commit', () => {
  let dir: string;
  let opened: OpenDatabase;
  let queries = 0;
  let userId: number;
  const counting: ReadRunner = {
    all(sql, parameters) {
      queries++;
      return opened.reader.all(sql, parameters);
    },
    arrays: (sql, parameters) => opened.reader.arrays(sql, parameters),
    changeCounter: () => opened.reader.changeCounter?.(),
  };
  const tokens = () => tokenRepository(opened.db, counting);

  beforeAll(async () => {
    dir = await makeDataDir();
    opened = await openSqlite(path.join(dir, SQLITE_FILE));
    userId = (
      await new KyselyUserRepository(opened.db).create({
        uid: 'u',
        name: 'u',
        email: null,
        passwordHash: null,
      })
    ).id;
  });
  afterAll(async () => {
    vi.useRealTimers();
    opened.reader.close();
    await opened.db.destroy();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('answers a repeated lookup from memory while nothing is committed', async () => {
    const repo = tokens();
    await repo.create(userId, 'hash-a', 'aaaaaa');
    queries = 0;
    const first = await repo.findByHash('hash-a');
    const second = await repo.findByHash('hash-a');
    expect(first?.user.id).toBe(userId);
    expect(second).toEqual(first);
    expect(queries).toBe(1);
  });

  it('sees a revocation committed by this process at once', async () => {
    const repo = tokens();
    await repo.create(userId, 'hash-b', 'bbbbbb');
    expect(await repo.findByHash('hash-b')).toBeDefined();
    expect(await repo.revoke('hash-b')).toBe(true);
    expect(await repo.findByHash('hash-b')).toBeUndefined();
  });

  it('sees a user change and a revocation committed by another process within a second', async () => {
    const repo = tokens();
    await repo.create(userId, 'hash-c', 'cccccc');
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
    const other = new SQLite(path.join(dir, SQLITE_FILE));
    try {
      other.prepare('UPDATE users SET images_version = images_version + 1 WHERE id = ?').run(userId);
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
    await repo.create(userId, 'hash-e', 'eeeeee');
    const before = await repo.findByHash('hash-e');
    await opened.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('users')
        .set((eb) => ({ images_version: eb('images_version', '+', 1) }))
        .where('id', '=', userId)
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
    await repo.create(userId, 'hash-d', 'dddddd');
    queries = 0;
    await repo.findByHash('no-such-hash');
    await repo.findByHash('no-such-hash');
    expect(queries).toBe(2);

    vi.useFakeTimers({ toFake: ['Date'] });
    queries = 0;
    await repo.findByHash('hash-d');
    vi.setSystemTime(Date.now() + 500);
    await repo.findByHash('hash-d');
    expect(queries).toBe(1);
    vi.setSystemTime(Date.now() + 600);
    await repo.findByHash('hash-d');
    expect(queries).toBe(2);
    vi.useRealTimers();
  });
});
