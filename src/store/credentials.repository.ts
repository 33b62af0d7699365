import type { Kysely } from 'kysely';
import { CommittedCache } from './committed-cache.ts';
import { type ReadRunner, reusableQuery } from './reusable-query.ts';
import type { AccessTokenRow, Database, DeviceRow } from './schema.ts';
import type { CredentialRepository, FoundCredential } from './types.ts';

type Table = 'access_tokens' | 'devices';
/**
 * A cached credential is used for at most this long even when SQLite reports no commit: the
 * fallback bound on how late a revocation can take effect.
 */
const CACHE_MAX_AGE_MS = 1000;
/** Credentials kept per table; the least recently looked up are dropped past this. */
const CACHE_MAX_ENTRIES = 10_000;
const COLUMNS = {
  access_tokens: { hash: 'token_hash', prefix: 'token_prefix' },
  devices: { hash: 'device_hash', prefix: 'device_prefix' },
} as const;

/**
 * Access tokens and legacy device ids behave alike (a hashed secret that acts as a user), so
 * one repository serves both tables.
 */
class KyselyCredentialRepository<T extends Table, Row extends AccessTokenRow | DeviceRow>
  implements CredentialRepository<Row>
{
  constructor(
    private readonly db: Kysely<Database>,
    private readonly table: T,
    private readonly reader: ReadRunner,
  ) {}

  // Kysely cannot follow a table name chosen at run time; this narrows it back to one table.
  private get q(): Kysely<Pick<Database, 'access_tokens' | 'users'>> {
    return this.db as unknown as Kysely<Pick<Database, 'access_tokens' | 'users'>>;
  }
  private get t(): 'access_tokens' {
    return this.table as 'access_tokens';
  }
  private get hashCol(): 'token_hash' {
    return COLUMNS[this.table].hash as 'token_hash';
  }

  async create(userId: number, hash: string, prefix: string, name: string | null = null): Promise<Row> {
    const values: Record<string, unknown> = {
      user_id: userId,
      [COLUMNS[this.table].hash]: hash,
      [COLUMNS[this.table].prefix]: prefix,
      created_at: Date.now(),
    };
    if (this.table === 'access_tokens') values.name = name;
    const row = await this.db
      .insertInto(this.table)
      .values(values as never)
      .returningAll()
      .executeTakeFirstOrThrow();
    return row as unknown as Row;
  }

  // Every authenticated request runs this: one indexed join, compiled once. Tokens also carry
  // the app they were granted to and their scopes; devices act with every scope of their user.
  private readonly userByHash = reusableQuery(
    () => this.reader,
    (hash: string) =>
      this.q
        .selectFrom(this.t)
        .innerJoin('users', 'users.id', `${this.t}.user_id`)
        .selectAll('users')
        .select(`${this.t}.id as credential_id`)
        .$if(this.table === 'access_tokens', (q) =>
          q.select([
            'access_tokens.app_id as credential_app_id',
            'access_tokens.scopes as credential_scopes',
          ]),
        )
        .where(`${this.t}.${this.hashCol}`, '=', hash),
  );

  /**
   * Every authenticated request asks, usually for the same few credentials: the answer (user
   * row included, so its image count and version) is kept until anything is committed.
   */
  private readonly cache = new CommittedCache<FoundCredential>(
    () => this.reader,
    CACHE_MAX_AGE_MS,
    CACHE_MAX_ENTRIES,
  );

  cachedByHash(hash: string): FoundCredential | undefined {
    return this.cache.peek(hash);
  }

  findByHash(hash: string) {
    return this.cache.get(hash, async () => {
      const [row] = await this.userByHash(hash);
      if (!row) return undefined;
      const { credential_id, credential_app_id, credential_scopes, ...user } = row as typeof row & {
        credential_app_id?: number | null;
        credential_scopes?: string;
      };
      return {
        credentialId: credential_id,
        user,
        appId: credential_app_id ?? null,
        scopes: credential_scopes ?? null,
      };
    });
  }

  async listForUser(userId: number): Promise<Row[]> {
    const rows = await this.q
      .selectFrom(this.t)
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('id')
      .execute();
    return rows as unknown as Row[];
  }

  async listAll(): Promise<Array<Row & { user_name: string }>> {
    const rows = await this.q
      .selectFrom(this.t)
      .innerJoin('users', 'users.id', `${this.t}.user_id`)
      .selectAll(this.t)
      .select('users.name as user_name')
      .orderBy(`${this.t}.id`)
      .execute();
    return rows as unknown as Array<Row & { user_name: string }>;
  }

  async revoke(idOrHash: number | string): Promise<boolean> {
    const query = this.q.deleteFrom(this.t);
    const result = await (typeof idOrHash === 'number'
      ? query.where('id', '=', idOrHash)
      : query.where(this.hashCol, '=', idOrHash)
    ).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async touch(id: number, at: number): Promise<void> {
    await this.q.updateTable(this.t).set({ last_used_at: at }).where('id', '=', id).execute();
  }
}

export const tokenRepository = (db: Kysely<Database>, reader: ReadRunner) =>
  new KyselyCredentialRepository<'access_tokens', AccessTokenRow>(db, 'access_tokens', reader);
export const deviceRepository = (db: Kysely<Database>, reader: ReadRunner) =>
  new KyselyCredentialRepository<'devices', DeviceRow>(db, 'devices', reader);
