import type { Kysely, Transaction } from 'kysely';
import { syncPath } from '../../fsync.ts';
import type { CommitDurably } from '../durable-commit.ts';
import { withRelaxedDurability } from '../relaxed-durability.ts';
import type { Database } from '../schema.ts';

/**
 * Syncs SQLite's write-ahead log off the event loop, one fsync for every commit made while the
 * previous one ran (group commit).
 *
 * Why: at synchronous=FULL each commit fsyncs the WAL inside better-sqlite3's synchronous call,
 * so the event loop stops for it (0.4–2 ms here) and concurrent uploads each pay their own. A
 * commit at synchronous=NORMAL writes the same frames to the WAL without the fsync; syncing the
 * WAL file afterwards makes it exactly as durable as FULL would have (FULL's only extra step in
 * WAL mode is that fsync; the checkpoint and WAL-reuse syncs happen at NORMAL too).
 */
export class WalSync {
  private flushing?: Promise<void>;
  private queued?: Promise<void>;

  constructor(
    private readonly walFile: string,
    private readonly datasync: (file: string) => Promise<void> = (file) => syncPath(file, { dataOnly: true }),
  ) {}

  /** Resolves once everything this process committed before the call is on disk. */
  sync(): Promise<void> {
    if (!this.flushing) {
      const flush = this.datasync(this.walFile).finally(() => {
        if (this.flushing === flush) this.flushing = undefined;
      });
      this.flushing = flush;
      return flush;
    }
    // The fsync under way may have begun before this caller's commit: it needs the next one,
    // which it shares with every caller that arrives until that one begins.
    if (!this.queued) {
      const next = () => {
        this.queued = undefined;
        return this.sync();
      };
      this.queued = this.flushing.then(next, next);
    }
    return this.queued;
  }
}

/**
 * An upload's commit on SQLite in WAL mode: the transaction at synchronous=NORMAL, then the WAL
 * synced with any other commits waiting for it. Until that sync the row is visible to readers
 * but not yet acknowledged to its uploader; a process crash loses nothing (the frames are in
 * the OS's cache), a power cut at most rows nobody was told were stored.
 */
export function groupCommit(wal: WalSync): CommitDurably {
  return async <T>(db: Kysely<Database>, work: (trx: Transaction<Database>) => Promise<T>) => {
    // Inside a caller's transaction, its commit decides durability.
    if (db.isTransaction) return work(db as Transaction<Database>);
    const result = await withRelaxedDurability(db, (connection) => connection.transaction().execute(work));
    await wal.sync();
    return result;
  };
}
