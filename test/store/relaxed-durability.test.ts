import fs from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openSqlite } from '../../src/store/database.ts';
import { withRelaxedDurability } from '../../src/store/relaxed-durability.ts';
import { makeDataDir } from '../helpers/server.ts';

const FULL = 2;
const NORMAL = 1;

describe('withRelaxedDurability', () => {
  it('relaxes only its own work: every other commit stays synchronous=FULL, even when it throws or races', async () => {
    const dir = await makeDataDir();
    const { db, sqlite, reader } = await openSqlite(path.join(dir, 'gazo.sqlite'));
    const level = async (on = db) =>
      Number((await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(on)).rows[0]?.synchronous);
    try {
      expect(await level()).toBe(FULL);
      const seen: number[] = [];
      // Another query issued while the relaxed work runs waits for the connection, and then
      // sees FULL again: the relaxation never leaks into it.
      const [, other] = await Promise.all([
        withRelaxedDurability(db, async (conn) => {
          seen.push(await level(conn));
          await new Promise((r) => setTimeout(r, 20));
        }),
        level(),
      ]);
      expect(seen).toEqual([NORMAL]);
      expect(other).toBe(FULL);
      await expect(
        withRelaxedDurability(db, async () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await level()).toBe(FULL);
      expect(sqlite.pragma('synchronous', { simple: true })).toBe(FULL);
    } finally {
      reader.close();
      await db.destroy();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
