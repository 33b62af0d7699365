import type { Kysely } from 'kysely';

/**
 * The OAuth 2 provider:
 * - `oauth_apps`: applications users register. `client_id` is public; the secret is shown once
 *   and kept as its SHA-256. `redirect_uris` holds the registered URIs, one a line, matched exactly.
 * - `oauth_codes`: authorization codes (as SHA-256), single-use (`used_at`) and short-lived. A
 *   code remembers the token it was exchanged for (`token_id`), so that a second use of it can
 *   revoke that token (RFC 6749 §4.1.2).
 * Tokens themselves are `access_tokens` rows with `app_id` and `scopes` (migration 0007).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('oauth_apps')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull().unique())
    .addColumn('client_secret_hash', 'text', (c) => c.notNull())
    .addColumn('redirect_uris', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('oauth_apps_user').on('oauth_apps').column('user_id').execute();

  await db.schema
    .createTable('oauth_codes')
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('code_hash', 'text', (c) => c.notNull().unique())
    .addColumn('app_id', 'integer', (c) => c.notNull().references('oauth_apps.id').onDelete('cascade'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('code_challenge', 'text')
    .addColumn('code_challenge_method', 'text')
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('token_id', 'integer')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('oauth_codes_expiry').on('oauth_codes').column('expires_at').execute();
  // Deleting an app revokes its tokens: they are found by app.
  await db.schema.createIndex('access_tokens_app').on('access_tokens').column('app_id').execute();
}
