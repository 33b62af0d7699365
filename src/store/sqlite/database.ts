import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, type SqliteDatabase, SqliteDialect } from 'kysely';
import { makePrivateDir } from '../../data-dir.ts';
import { migrate } from '../database.ts';
import { type CommitDurably, commitInTransaction } from '../durable-commit.ts';
import { kyselyReader, type ReadRunner } from '../reusable-query.ts';
import type { Database } from '../schema.ts';
import { groupCommit, WalSync } from './group-commit.ts';

export interface OpenDatabase {
  db: Kysely<Database>;
  /** A second, read-only connection for the hot reads (token lookups, pages, image lookups). */
  reader: ReadRunner & { close(): void };
  /** The raw connection, for the few statements Kysely cannot express (pragmas, checkpoints). */
  sqlite: SQLite.Database;
  /** How an upload's commit is made durable: grouped with others' (see group-commit.ts). */
  commitDurably: CommitDurably;
}

/**
 * Opens (creating if needed) the embedded SQLite database and brings its schema up to date.
 * WAL lets CLI commands read and write while a server runs; synchronous=FULL makes a commit
 * durable before we acknowledge it; busy_timeout makes writers from several processes queue.
 */
export async function openSqlite(file: string): Promise<OpenDatabase> {
  if (file !== ':memory:') await makePrivate(file);
  const sqlite = new SQLite(file);
  const journal = sqlite.pragma('journal_mode = WAL', { simple: true });
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 10000');
  sqlite.pragma('foreign_keys = ON');
  const writes: WriterActivity = { unseen: true };
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(sqlite, writes) }),
  });
  await migrate(db);
  // Without a WAL (in memory, or a file system that cannot map one) every commit syncs itself.
  const commitDurably = journal === 'wal' ? groupCommit(new WalSync(`${file}-wal`)) : commitInTransaction;
  return {
    db,
    sqlite,
    reader: file === ':memory:' ? memoryReader(db) : openReader(file, sqlite, writes),
    commitDurably,
  };
}

/**
 * The database holds password and token hashes and the metadata of private images: it is the
 * user's alone (0600), also when an older Gazo or a copy left it readable. SQLite gives its
 * -wal and -shm files the mode of the database file; ones left from before are tightened too.
 */
async function makePrivate(file: string): Promise<void> {
  await makePrivateDir(path.dirname(file));
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if ((fs.statSync(f).mode & 0o077) !== 0) fs.chmodSync(f, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/**
 * better-sqlite3 answers synchronously: an indexed read costs a few microseconds here against
 * tens through Kysely's asynchronous connection handling. Its own connection means it never
 * sees another request's uncommitted transaction (WAL gives it the last committed state).
 */
function openReader(
  file: string,
  writer: SQLite.Database,
  writes: WriterActivity,
): ReadRunner & { close(): void } {
  const reader = new SQLite(file, { readonly: true });
  reader.pragma('busy_timeout = 10000');
  const statements = new Map<string, SQLite.Statement>();
  const arrayStatements = new Map<string, SQLite.Statement>();
  const prepared = (cache: Map<string, SQLite.Statement>, sql: string, raw: boolean) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = reader.prepare(sql);
      if (raw) stmt.raw();
      cache.set(sql, stmt);
    }
    return stmt;
  };
  const changes = changeCounter(reader, writer, writes);
  return {
    async all<R>(sql: string, parameters: readonly unknown[]) {
      return prepared(statements, sql, false).all(...parameters) as R[];
    },
    async arrays(sql: string, parameters: readonly unknown[]) {
      return prepared(arrayStatements, sql, true).all(...parameters) as unknown[][];
    },
    changeCounter: changes,
    close: () => reader.close(),
  };
}

/**
 * How long commits by other processes may go unnoticed: `PRAGMA data_version` takes file locks
 * (two fcntl calls and an fstat, 2–4 µs under load, a tenth of a cached list request), so it is
 * asked at most this often. Commits by this process are seen at once.
 */
const OTHER_PROCESS_CHECK_MS = 100;

/**
 * Whether the writer may have changed anything since the change counter last looked: set by
 * every statement Kysely prepares on it (every query it runs; nothing writes the database but
 * through Kysely), cleared by the counter when it reads total_changes(). A write that went
 * around Kysely would still be seen, through data_version, within OTHER_PROCESS_CHECK_MS.
 */
interface WriterActivity {
  unseen: boolean;
}

/**
 * A number that moves whenever anything may have been committed since it was last read, or
 * undefined while this process's writer is inside a transaction (what a reader sees then is
 * about to change). This process's writes show in the writer's total_changes(), asked only after
 * the writer ran a statement (a cached page otherwise asked it on every request, 2 % of its
 * CPU); other processes' commits in the reader's data_version, sampled every OTHER_PROCESS_CHECK_MS.
 */
function changeCounter(
  reader: SQLite.Database,
  writer: SQLite.Database,
  writes: WriterActivity,
): () => number | undefined {
  const totalChanges = writer.prepare('SELECT total_changes()').pluck();
  const dataVersion = reader.prepare('PRAGMA data_version').pluck();
  let generation = 0;
  let lastChanges: unknown;
  let lastVersion: unknown;
  let versionReadAt = Number.NEGATIVE_INFINITY;
  return () => {
    if (writer.inTransaction) return undefined;
    if (writes.unseen) {
      writes.unseen = false;
      const changes = totalChanges.get();
      if (changes !== lastChanges) {
        lastChanges = changes;
        generation++;
        // Our own commit moved data_version too: read it now, so that it is not taken later for
        // another process's.
        versionReadAt = Number.NEGATIVE_INFINITY;
      }
    }
    const now = Date.now();
    if (now - versionReadAt >= OTHER_PROCESS_CHECK_MS) {
      versionReadAt = now;
      const version = dataVersion.get();
      if (version !== lastVersion) {
        lastVersion = version;
        generation++;
      }
    }
    return generation;
  };
}

/** An in-memory database has no second connection to open. */
const memoryReader = (db: Kysely<Database>) => ({ ...kyselyReader(db), close: () => undefined });

/** Prepared statements kept per connection; past this the least recently used are dropped. */
const STATEMENT_CACHE = 200;

/**
 * Kysely's SQLite driver prepares every query it runs. Preparing (parse and plan) costs more than
 * running a short indexed query, and the server runs the same few queries over and over, so the
 * statements are kept, keyed by their SQL text. Kysely runs one query at a time on the single
 * connection, so a cached statement is never in use twice at once; SQLite re-prepares a statement
 * by itself after a schema change.
 */
function withStatementCache(sqlite: SQLite.Database, writes: WriterActivity): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      // Kysely runs the statement at once, before any other code: see changeCounter.
      writes.unseen = true;
      let stmt = cache.get(sql);
      if (stmt) {
        cache.delete(sql);
      } else {
        stmt = sqlite.prepare(sql);
        if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, stmt);
      return stmt;
    },
  };
}
