import { type Kysely, sql } from 'kysely';

/**
 * What signing in on the web needs:
 * - `users.is_admin` (the first user is one; an install that had users makes its oldest one
 *   the admin) and `users.disabled_at` (a disabled user's credentials all stop working).
 * - `access_tokens.app_id` / `scopes`: the OAuth application a token was granted to (null for a
 *   personal token) and what it may do. Personal tokens have every scope.
 * - `sessions`: server-side browser sessions, so that every process sees the same ones; the
 *   cookie holds a random id, the table its SHA-256.
 * - `invites`: single-use sign-up links an admin makes while registration is closed.
 * - `server_secrets`: random keys made once per install and shared by every process (cookie
 *   signing, CSRF token binding).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('users').addColumn('disabled_at', 'bigint').execute();
  await sql`UPDATE users SET is_admin = 1 WHERE id = (SELECT MIN(id) FROM users)`.execute(db);

  await db.schema.alterTable('access_tokens').addColumn('app_id', 'integer').execute();
  await db.schema
    .alterTable('access_tokens')
    .addColumn('scopes', 'text', (c) => c.notNull().defaultTo('public upload'))
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('session_hash', 'text', (c) => c.notNull().unique())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('user_agent', 'text')
    .execute();
  await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();

  await db.schema
    .createTable('invites')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('invite_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_by', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('used_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .execute();

  await db.schema
    .createTable('server_secrets')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}
