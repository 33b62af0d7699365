import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KyselyBlobLedger } from '../../src/store/blob-ledger.repository.ts';
import { KyselyImageRepository } from '../../src/store/images.repository.ts';
import { groupCommit, WalSync } from '../../src/store/sqlite/group-commit.ts';
import { type CountedStore, openCountedStore } from '../helpers/counted-store.ts';
import { imageRow } from '../helpers/rows.ts';

/**
 * An upload is acknowledged once its row is durable. On SQLite its commit is written at
 * synchronous=NORMAL and the WAL then synced off the event loop, one fsync for every commit
 * made while the previous one ran: these tests hold that sync to what FULL promised.
 */
describe('group commit of uploads on SQLite', () => {
  let store: CountedStore;
  /** The rows committed when each fsync began, once that fsync has finished. */
  let durableRows: number;
  let syncs: number;
  let failNext: boolean;

  const committedRows = () =>
    Number(store.opened.sqlite.prepare('SELECT count(*) FROM images').pluck().get());

  /** A real fdatasync of the WAL made slow, as a busy disk is: commits pile up behind it. */
  const slowDatasync = (real: WalSync) => async () => {
    syncs++;
    const rowsAtStart = committedRows();
    await sleep(40);
    if (failNext) {
      failNext = false;
      throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    }
    await real.sync();
    durableRows = Math.max(durableRows, rowsAtStart);
  };

  const repository = () => {
    const real = new WalSync(`${store.file}-wal`);
    const wal = new WalSync(`${store.file}-wal`, slowDatasync(real));
    return new KyselyImageRepository(store.opened.db, store.reader, groupCommit(wal));
  };

  /** Inserts one image row as an upload does, and answers how many rows were durable when it resolved. */
  const upload = async (images: KyselyImageRepository, createdAt: number) => {
    const row = imageRow(store.userId, createdAt);
    const pending = await new KyselyBlobLedger(store.opened.db).addPending(row.blob_key, Date.now());
    const inserted = await images.insert(row, pending);
    return { seq: inserted.seq, durableWhenAnswered: durableRows };
  };

  beforeEach(async () => {
    store = await openCountedStore();
    durableRows = 0;
    syncs = 0;
    failNext = false;
  });
  afterEach(() => store.close());

  it('answers each upload only after an fsync that began once its row was committed, sharing fsyncs', async () => {
    const images = repository();
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => upload(images, 1_000 + i)));
    // Rows are numbered in commit order from 1: each was durable when its upload was answered.
    for (const a of answers) expect(a.seq).toBeLessThanOrEqual(a.durableWhenAnswered);
    expect(committedRows()).toBe(16);
    // The first fsync covers the first commit; every commit made during it shares the next.
    expect(syncs).toBeGreaterThanOrEqual(2);
    expect(syncs).toBeLessThanOrEqual(4);
    // The relaxed commit never outlives its transaction.
    expect(store.opened.sqlite.pragma('synchronous', { simple: true })).toBe(2);
  });

  it('fails the uploads whose fsync fails, and syncs the next ones afresh', async () => {
    const images = repository();
    failNext = true;
    const first = upload(images, 1_000);
    await expect(first).rejects.toThrow('EIO');
    const next = await upload(images, 2_000);
    expect(next.seq).toBeLessThanOrEqual(next.durableWhenAnswered);
  });

  it('syncs the real WAL file of an opened store', async () => {
    const images = new KyselyImageRepository(store.opened.db, store.reader, store.opened.commitDurably);
    const answers = await Promise.all([1, 2, 3].map((i) => upload(images, i)));
    expect(answers.map((a) => a.seq).sort()).toEqual([1, 2, 3]);
  });
});
