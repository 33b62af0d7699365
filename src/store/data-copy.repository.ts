import { type Kysely, sql } from 'kysely';
import { dialectKind } from './dialect.ts';
import type { Database } from './schema.ts';
import { limitOf } from './sql-limit.ts';

/**
 * The tables `gazo migrate-data` copies, in an order that satisfies every foreign key, each with
 * the key it is read in order of and that makes a repeated insert harmless.
 */
export const COPIED_TABLES = {
  users: 'id',
  oauth_apps: 'id',
  access_tokens: 'id',
  oauth_codes: 'id',
  devices: 'id',
  sessions: 'id',
  invites: 'id',
  images: 'seq',
  import_sources: 'id',
  anonymous_devices: 'id',
  held_images: 'id',
  jobs: 'id',
  server_secrets: 'name',
} as const satisfies { [T in keyof Database]?: string };

/**
 * Every other table there is, and why a copy leaves it out. A table in neither list stops a
 * migration before it copies anything (see unlistedTables), so a new one cannot be missed silently.
 */
export const NOT_COPIED_TABLES = {
  data_dir: "the data dir's identity: taken over once, by takeIdentity",
  pending_blobs: 'uploads under way in processes that are gone once the source is locked',
  blob_collections: 'collections under way in processes that are gone once the source is locked',
  images_fts: "SQLite's search index of images: the target indexes the copied rows itself",
  images_fts_terms: "the trigrams of SQLite's search index, read from it (fts5vocab): nothing of its own",
  kysely_migration: 'which migrations ran: the target records its own',
  kysely_migration_lock: 'which migrations ran: the target records its own',
} as const;

// Every table of the schema is in one of the two lists (a compile error names one that is not).
type Unlisted = Exclude<keyof Database, keyof typeof COPIED_TABLES | keyof typeof NOT_COPIED_TABLES>;
const everyTableListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyTableListed;

export type CopiedTable = keyof typeof COPIED_TABLES;
export type CopiedRow = Record<string, unknown>;
type Key = string | number;

/** Columns the database computes from others: read, never written. */
const COMPUTED: Partial<Record<CopiedTable, string[]>> = { jobs: ['image_id', 'blob_key'] };
/** Tables whose rows a copy replaces rather than keeps: a fresh target may have made its own. */
const REPLACED: Partial<Record<CopiedTable, string[]>> = { server_secrets: ['value', 'created_at'] };

/** Whole-table reads and id-preserving writes, for copying one store into another. */
export class KyselyDataCopy {
  constructor(private readonly db: Kysely<Database>) {}

  /** Up to `limit` rows of `table` in key order, after the key `after` (from the start without one). */
  async rowsAfter(table: CopiedTable, after: Key | undefined, limit: number): Promise<CopiedRow[]> {
    const key = sql.ref(COPIED_TABLES[table]);
    const from = after === undefined ? sql`` : sql`WHERE ${key} > ${after}`;
    const { rows } =
      await sql<CopiedRow>`SELECT * FROM ${sql.table(table)} ${from} ORDER BY ${key} LIMIT ${limitOf(limit)}`.execute(
        this.db,
      );
    return rows;
  }

  /** The tables of this database (SQLite's internal and FTS shadow tables left out). */
  async tables(): Promise<string[]> {
    const { rows } =
      dialectKind(this.db) === 'postgres'
        ? await sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables
            WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`.execute(this.db)
        : await sql<{ name: string }>`SELECT name FROM pragma_table_list
            WHERE schema = 'main' AND type IN ('table', 'virtual') AND substr(name, 1, 7) <> 'sqlite_'`.execute(
            this.db,
          );
    return rows.map((r) => r.name).sort();
  }

  /** Tables here in neither COPIED_TABLES nor NOT_COPIED_TABLES: a copy would leave them behind. */
  async unlistedTables(): Promise<string[]> {
    return (await this.tables()).filter(
      (t) => !Object.hasOwn(COPIED_TABLES, t) && !Object.hasOwn(NOT_COPIED_TABLES, t),
    );
  }

  async count(table: CopiedTable): Promise<number> {
    const { rows } = await sql<{ n: number | string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(
      this.db,
    );
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Inserts the rows with their own keys; a row whose key is there already (copied by an earlier,
   * interrupted run) is left as it is. Any other conflict (a token hash taken by another row) fails.
   */
  async insertKeepingKeys(table: CopiedTable, rows: CopiedRow[]): Promise<void> {
    if (rows.length === 0) return;
    const computed = new Set(COMPUTED[table] ?? []);
    const values = rows.map((row) =>
      Object.fromEntries(Object.entries(row).filter(([c]) => !computed.has(c))),
    );
    const key = COPIED_TABLES[table];
    const replaced = REPLACED[table];
    // biome-ignore lint/suspicious/noExplicitAny: one statement for every table; the rows come from the same schema
    const insert = this.db.insertInto(table as any).values(values as any);
    await insert
      .onConflict((oc) => {
        const target = oc.column(key);
        if (!replaced) return target.doNothing();
        return target.doUpdateSet(
          // biome-ignore lint/suspicious/noExplicitAny: as above
          Object.fromEntries(replaced.map((c) => [c, sql.ref(`excluded.${c}`)])) as any,
        );
      })
      .execute();
  }

  /**
   * After rows were written with their own ids: PostgreSQL's identity counters know nothing of
   * them, so the next insert would take id 1 again. Moves each past the largest id there is.
   */
  async advanceIdentities(): Promise<void> {
    if (dialectKind(this.db) !== 'postgres') return; // SQLite's AUTOINCREMENT follows the rows.
    for (const [table, key] of Object.entries(COPIED_TABLES)) {
      if (table === 'server_secrets') continue;
      await sql`SELECT setval(pg_get_serial_sequence(${table}, ${key}), coalesce(max(${sql.ref(key)}), 0) + 1, false) FROM ${sql.table(table)}`.execute(
        this.db,
      );
    }
  }

  /**
   * After a copy: PostgreSQL plans each table as it last measured it, empty, until autovacuum
   * analyzes it minutes later; meanwhile a deep page of 100,000 images took 33 ms (0.4 ms after).
   * SQLite keeps no statistics unless asked, and its plans are chosen for that.
   */
  async refreshStatistics(): Promise<void> {
    if (dialectKind(this.db) !== 'postgres') return;
    await sql`ANALYZE`.execute(this.db);
  }

  /** Whether anything a user made is here (a fresh database has only its identity and secrets). */
  async holdsUserData(): Promise<boolean> {
    for (const table of ['users', 'images', 'access_tokens', 'oauth_apps', 'devices'] as const) {
      if ((await this.count(table)) > 0) return true;
    }
    return false;
  }

  /** Gives this database the identity of the data dir it is a copy of (one row, see migration 0004). */
  async takeIdentity(id: string, createdAt: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('data_dir').execute();
      await trx.insertInto('data_dir').values({ id, created_at: createdAt }).execute();
    });
  }

  async identity(): Promise<{ id: string; created_at: number }> {
    const row = await this.db.selectFrom('data_dir').selectAll().executeTakeFirstOrThrow();
    return { id: row.id, created_at: Number(row.created_at) };
  }
}
