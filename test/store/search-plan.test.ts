import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSearchQuery } from '../../src/services/search-query.ts';
import { openSqliteStore, SQLITE_FILE } from '../../src/store/index.ts';
import { openSqlite } from '../../src/store/sqlite/database.ts';
import { planTerms, SEARCH_SAMPLE_ROWS, scanShare } from '../../src/store/sqlite/search.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { imageRow } from '../helpers/rows.ts';

const T0 = Date.UTC(2024, 4, 20);
/** What a page of 20 and the capped count need (see SEARCH_COUNT_AHEAD). */
const WANTED = 1020;

/**
 * How SQLite finds each term, read from a real database: the sample of the user's newest rows
 * decides between the index and testing rows one by one.
 */
describe('the SQLite search plan', () => {
  let dir: string;
  let store: MetadataStore;
  let db: Awaited<ReturnType<typeof openSqlite>>;
  let userId: number;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gazo-search-plan-'));
    store = await openSqliteStore(dir);
    userId = (await store.users.create({ uid: 'u', name: 'u', email: null, passwordHash: null })).id;
    db = await openSqlite(path.join(dir, SQLITE_FILE));
  });
  afterEach(async () => {
    db.reader.close();
    await db.db.destroy();
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** `n` images, newest last; `text(i)` is image i's OCR text. */
  const images = (n: number, text: (i: number) => string) =>
    store.transaction(async (tx) => {
      for (let i = 0; i < n; i++) {
        const row = imageRow(userId, T0 + i, { ocr_text: text(i) });
        await tx.images.insert(row, await tx.blobLedger.addPending(row.blob_key, Date.now()));
      }
    });
  const plan = (query: string) => planTerms(db.db, userId, parseSearchQuery(query), WANTED);

  it('tests a term in most images row by row, and finds a rare one through the index', async () => {
    await images(5000, (i) => `common words ${i % 1000 === 0 ? 'rarity' : ''}`);
    expect(await plan('common rarity')).toEqual({ indexed: ['"rarity"'], scanned: [{ text: 'common' }] });
    // Alone, the common one is found row by row too; two letters in most rows skip the index.
    expect(await plan('common')).toEqual({ indexed: [], scanned: [{ text: 'common' }] });
    expect(await plan('co')).toEqual({ indexed: [], scanned: [{ text: 'co' }] });
  });

  it('takes the rarer of two common terms that seldom meet through the index', async () => {
    await images(5000, (i) => (i % 2 === 0 ? 'alpha' : 'bravo'));
    expect(await plan('alpha bravo')).toEqual({ indexed: ['"alpha"'], scanned: [{ text: 'bravo' }] });
  });

  it('tests every term row by row for a user with few images in the bounds', async () => {
    await images(SEARCH_SAMPLE_ROWS - 1, (i) => (i === 0 ? 'rarity' : 'other'));
    expect(await plan('rarity')).toEqual({ indexed: [], scanned: [{ text: 'rarity' }] });
    // ...but a letter the index folds and LIKE does not stays with the index, as it matches.
    expect(await plan('éclair')).toEqual({ indexed: ['"éclair"'], scanned: [] });
  });

  it('samples only the rows within the time bounds', async () => {
    await images(5000, (i) => (i < 4000 ? 'early' : 'late'));
    // Every one of the newest images says "late": "early" is rare there, common within its time.
    expect(await plan('early')).toEqual({ indexed: ['"early"'], scanned: [] });
    expect(
      await planTerms(db.db, userId, { ...parseSearchQuery('early'), before: T0 + 3000 }, WANTED),
    ).toEqual({ indexed: [], scanned: [{ text: 'early' }] });
  });

  it('gives up at once on a short term that occurs nowhere', async () => {
    await images(5000, () => 'words');
    expect(await plan('zq')).toBeNull();
  });

  it('scans a share of rows that falls with the size of the index', () => {
    expect(scanShare(1020, 100_000)).toBeCloseTo(0.101, 3);
    expect(scanShare(1020, 1_000_000)).toBeCloseTo(0.0319, 3);
    expect(scanShare(1020, 500)).toBe(1);
    expect(scanShare(1020, 0)).toBe(1);
  });
});
