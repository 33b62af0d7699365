import fs from 'node:fs/promises';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openSqliteStore, SQLITE_FILE } from '../../src/store/index.ts';
import { makeDataDir } from '../helpers/server.ts';

/**
 * The list reads the images it does not keep by seq. Asked for 20 seqs and a user, SQLite's
 * planner (no statistics) prefers the user's index to 20 rowid probes, and then reads every one
 * of the user's rows to find them: 7 ms at 100,000 images instead of a few µs. The plan is what
 * matters here, so that is what this asserts, on the SQL the repository really runs.
 */
describe('SQLite: listed rows by seq', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
  });

  it('are found through the primary key, not by scanning the user’s images', async () => {
    const dir = await makeDataDir();
    dirs.push(dir);
    const store = await openSqliteStore(dir);
    const prepared: string[] = [];
    const prepare = SQLite.prototype.prepare;
    vi.spyOn(SQLite.prototype, 'prepare').mockImplementation(function (
      this: SQLite.Database,
      source: string,
    ) {
      prepared.push(source);
      return prepare.call(this, source);
    });
    const seqs = Array.from({ length: 20 }, (_, i) => i + 1);
    try {
      await store.images.listedBySeq(1, seqs);
    } finally {
      await store.close();
    }
    const bySeq = prepared.filter((source) => /"seq" in \(/i.test(source));
    expect(bySeq).toHaveLength(1);
    const db = new SQLite(path.join(dir, SQLITE_FILE), { readonly: true });
    try {
      const plan = db
        .prepare(`EXPLAIN QUERY PLAN ${bySeq[0]}`)
        .all(1, ...seqs)
        .map((step) => (step as { detail: string }).detail);
      expect(plan).toEqual(['SEARCH images USING INTEGER PRIMARY KEY (rowid=?)']);
    } finally {
      db.close();
    }
  });
});
