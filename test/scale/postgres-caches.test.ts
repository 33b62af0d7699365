import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenRepository } from '../../src/store/credentials.repository.ts';
import { openPostgresStore } from '../../src/store/index.ts';
import { openPostgres } from '../../src/store/postgres/database.ts';
import { kyselyReader, type ReadRunner } from '../../src/store/reusable-query.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { KyselyUserRepository } from '../../src/store/users.repository.ts';
import { testDatabase } from '../helpers/postgres.ts';

/**
 * On PostgreSQL the token → user cache is back (see store/postgres/change-counter.ts): repeated
 * lookups are answered from memory, this process's commits are seen at once, and another
 * process's (here: another pool on the same database) within about a second. A reader that
 * counts its queries shows which lookups reached PostgreSQL.
 */
describe('PostgreSQL: credential lookups cached until anything is committed', () => {
  let database: Awaited<ReturnType<typeof testDatabase>>;
  let opened: Awaited<ReturnType<typeof openPostgres>>;
  let other: MetadataStore;
  let queries = 0;
  let userId: number;
  const reader = (): ReadRunner => {
    const inner = { ...kyselyReader(opened.db), changeCounter: opened.changeCounter };
    return {
      all(sql, parameters) {
        queries++;
        return inner.all(sql, parameters);
      },
      arrays: inner.arrays,
      changeCounter: inner.changeCounter,
    };
  };
  let tokens: ReturnType<typeof tokenRepository>;

  beforeAll(async () => {
    database = await testDatabase();
    opened = await openPostgres(database.url);
    other = await openPostgresStore(database.url);
    userId = (
      await new KyselyUserRepository(opened.db).create({
        uid: 'u',
        name: 'u',
        email: null,
        passwordHash: null,
      })
    ).id;
    tokens = tokenRepository(opened.db, reader());
  });
  afterAll(async () => {
    await other?.close();
    await opened?.db.destroy();
    await database?.drop();
  });

  /** Looks `hash` up every few ms until `done` holds (at most 5 s); answers how long that took. */
  const until = async (hash: string, done: (found: unknown) => boolean) => {
    const since = Date.now();
    while (!done(await tokens.findByHash(hash))) {
      if (Date.now() - since > 5000) throw new Error('not seen within 5 s');
      await new Promise((r) => setTimeout(r, 5));
    }
    return Date.now() - since;
  };

  it('answers most of a burst of lookups from memory', async () => {
    await tokens.create(userId, 'hash-a', 'aaaaaa');
    // Let the first snapshot sample arrive, then ask 200 times in a row.
    await until('hash-a', (found) => found !== undefined);
    await new Promise((r) => setTimeout(r, 50));
    queries = 0;
    for (let i = 0; i < 200; i++) expect((await tokens.findByHash('hash-a'))?.user.id).toBe(userId);
    // Other test files share the cluster and commit meanwhile (each commit there empties the
    // cache too), so not every lookup is a hit; without the cache all 200 reach the database.
    expect(queries).toBeLessThan(100);
  });

  it('sees a revocation by this process at once', async () => {
    await tokens.create(userId, 'hash-b', 'bbbbbb');
    await until('hash-b', (found) => found !== undefined);
    expect(await tokens.findByHash('hash-b')).toBeDefined();
    expect(await tokens.revoke('hash-b')).toBe(true);
    expect(await tokens.findByHash('hash-b')).toBeUndefined();
  });

  it('sees a revocation and a user change by another process within a second', async () => {
    await tokens.create(userId, 'hash-c', 'cccccc');
    await until('hash-c', (found) => found !== undefined);
    await other.users.setDisabled(userId, Date.now());
    const disabledAfter = await until(
      'hash-c',
      (found) => (found as { user: { disabled_at: unknown } } | undefined)?.user.disabled_at !== null,
    );
    expect(await other.tokens.revoke('hash-c')).toBe(true);
    const revokedAfter = await until('hash-c', (found) => found === undefined);
    console.log(
      `another process's change seen after ${disabledAfter} ms, its revocation after ${revokedAfter} ms`,
    );
    expect(disabledAfter).toBeLessThan(700);
    expect(revokedAfter).toBeLessThan(700);
  });
});
