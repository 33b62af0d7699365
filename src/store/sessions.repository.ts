import type { Kysely } from 'kysely';
import type { Database, SessionRow, UserRow } from './schema.ts';
import type { SessionRepository } from './types.ts';

/** Browser sessions, by the SHA-256 of the cookie's random id. */
export class KyselySessionRepository implements SessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(session: {
    hash: string;
    userId: number;
    expiresAt: number;
    userAgent: string | null;
  }): Promise<SessionRow> {
    const now = Date.now();
    return this.db
      .insertInto('sessions')
      .values({
        session_hash: session.hash,
        user_id: session.userId,
        created_at: now,
        last_seen_at: now,
        expires_at: session.expiresAt,
        user_agent: session.userAgent,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async findByHash(hash: string): Promise<{ session: SessionRow; user: UserRow } | undefined> {
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .selectAll('users')
      .select([
        'sessions.id as session_id',
        'sessions.session_hash',
        'sessions.created_at as session_created_at',
        'sessions.last_seen_at',
        'sessions.expires_at',
        'sessions.user_agent',
      ])
      .where('sessions.session_hash', '=', hash)
      .executeTakeFirst();
    if (!row) return undefined;
    const { session_id, session_hash, session_created_at, last_seen_at, expires_at, user_agent, ...user } =
      row;
    return {
      session: {
        id: session_id,
        session_hash,
        user_id: user.id,
        created_at: session_created_at,
        last_seen_at,
        expires_at,
        user_agent,
      },
      user,
    };
  }

  async touch(id: number, lastSeenAt: number, expiresAt: number): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ last_seen_at: lastSeenAt, expires_at: expiresAt })
      .where('id', '=', id)
      .execute();
  }

  async delete(hash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('session_hash', '=', hash).execute();
  }

  async deleteForUser(userId: number, exceptHash?: string): Promise<number> {
    let query = this.db.deleteFrom('sessions').where('user_id', '=', userId);
    if (exceptHash !== undefined) query = query.where('session_hash', '!=', exceptHash);
    const result = await query.executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async deleteExpired(now: number): Promise<number> {
    const result = await this.db.deleteFrom('sessions').where('expires_at', '<=', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  listForUser(userId: number, now: number): Promise<SessionRow[]> {
    return this.db
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', userId)
      .where('expires_at', '>', now)
      .orderBy('last_seen_at', 'desc')
      .orderBy('id', 'desc')
      .execute();
  }
}

/** Per-install random keys, made by whichever process asks first and then shared by all. */
export class KyselyServerSecrets {
  constructor(private readonly db: Kysely<Database>) {}

  async getOrCreate(name: string, make: () => string): Promise<string> {
    // Two processes starting at once may both insert: the first wins, both read its value.
    await this.db
      .insertInto('server_secrets')
      .values({ name, value: make(), created_at: Date.now() })
      .onConflict((c) => c.column('name').doNothing())
      .execute();
    const row = await this.db
      .selectFrom('server_secrets')
      .select('value')
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
    return row.value;
  }
}
