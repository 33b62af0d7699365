import fs from 'node:fs/promises';
import { afterEach, beforeEach, describe } from 'vitest';
import { openPostgresStore, openSqliteStore } from '../../src/store/index.ts';
import type { NewImageRow } from '../../src/store/schema.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { testDatabase } from '../helpers/postgres.ts';
import { makeDataDir } from '../helpers/server.ts';

/** One place holding the data, and a way to open (another connection to) it. */
export interface StoreHome {
  kind: 'sqlite' | 'postgres';
  /** Opens the store once more, as another process would: its own connections. */
  open(): Promise<MetadataStore>;
  remove(): Promise<void>;
}

export const STORE_KINDS = {
  async sqlite(): Promise<StoreHome> {
    const dir = await makeDataDir();
    return {
      kind: 'sqlite',
      open: () => openSqliteStore(dir),
      remove: () => fs.rm(dir, { recursive: true, force: true }),
    };
  },
  async postgres(): Promise<StoreHome> {
    const database = await testDatabase();
    return { kind: 'postgres', open: () => openPostgresStore(database.url), remove: () => database.drop() };
  },
} as const;

export interface StoreUnderTest {
  home: StoreHome;
  /** A store on a fresh, empty database, for this test only. */
  store: MetadataStore;
  /** Another store on the same database (another "process"); closed after the test. */
  another(): Promise<MetadataStore>;
  /**
   * The store another process of the same deployment would use at the same time: on PostgreSQL
   * one with its own connections; on SQLite, where one process serves a data dir (and a second
   * connection in the same process would block the event loop in SQLite's busy wait), this one.
   */
  peer(): Promise<MetadataStore>;
}

/**
 * Runs `suite` once per implementation (SQLite and PostgreSQL): each test gets an empty database
 * of its own and the store opened on it.
 */
export function forEachStore(title: string, suite: (t: StoreUnderTest) => void): void {
  for (const kind of Object.keys(STORE_KINDS) as Array<keyof typeof STORE_KINDS>) {
    describe(`${title} (${kind})`, () => {
      const opened: MetadataStore[] = [];
      const t = {} as StoreUnderTest;
      beforeEach(async () => {
        t.home = await STORE_KINDS[kind]();
        t.store = await t.home.open();
        opened.push(t.store);
        t.another = async () => {
          const store = await t.home.open();
          opened.push(store);
          return store;
        };
        t.peer = async () => (kind === 'postgres' ? t.another() : t.store);
      });
      afterEach(async () => {
        for (const store of opened.splice(0)) await store.close();
        await t.home.remove();
      });
      suite(t);
    });
  }
}

/** A user with nothing but a name (no password, no email), as the suites need one to own things. */
export function createUser(store: Pick<MetadataStore, 'users'>, name: string) {
  return store.users.create({ uid: name, name, email: null, passwordHash: null });
}

/** A SHA-256-looking hex string, distinct for each `n`: what the stores keep instead of a secret. */
export const hashOf = (n: number | string) => n.toString(16).padStart(64, '0');

/** The jobs of `kind` in the queue, as their payloads and times (read under the store, as a copy reads them). */
export async function queuedJobs(store: MetadataStore, kind: string) {
  const rows = await store.dataCopy.rowsAfter('jobs', undefined, 10_000);
  return rows
    .filter((row) => row.kind === kind)
    .map((row) => ({ payload: JSON.parse(String(row.payload)) as unknown, runAt: row.run_at }));
}

/** Commits an image as an upload does: its pending blob registered first, then the row. */
export async function insertImage(store: MetadataStore, row: NewImageRow) {
  return store.images.insert(row, await store.blobLedger.addPending(row.blob_key, Date.now()));
}
