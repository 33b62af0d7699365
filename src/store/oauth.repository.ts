import type { Kysely } from 'kysely';
import { inTransaction } from './dialect.ts';
import type { AccessTokenRow, Database, OAuthAppRow, OAuthCodeRow } from './schema.ts';
import type { NewOAuthApp, NewOAuthCode, NewOAuthToken, OAuthRepository, TokenWithApp } from './types.ts';

/** OAuth applications, their authorization codes, and the tokens they were granted. */
export class KyselyOAuthRepository implements OAuthRepository {
  constructor(private readonly db: Kysely<Database>) {}

  createApp(app: NewOAuthApp): Promise<OAuthAppRow> {
    return this.db
      .insertInto('oauth_apps')
      .values({
        user_id: app.userId,
        name: app.name,
        client_id: app.clientId,
        client_secret_hash: app.clientSecretHash,
        redirect_uris: app.redirectUris.join('\n'),
        created_at: Date.now(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  findAppByClientId(clientId: string): Promise<OAuthAppRow | undefined> {
    return this.db.selectFrom('oauth_apps').selectAll().where('client_id', '=', clientId).executeTakeFirst();
  }

  findAppById(id: number): Promise<OAuthAppRow | undefined> {
    return this.db.selectFrom('oauth_apps').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listApps(userId?: number): Promise<Array<OAuthAppRow & { user_name: string }>> {
    return this.db
      .selectFrom('oauth_apps')
      .innerJoin('users', 'users.id', 'oauth_apps.user_id')
      .selectAll('oauth_apps')
      .select('users.name as user_name')
      .$if(userId !== undefined, (q) => q.where('oauth_apps.user_id', '=', userId as number))
      .orderBy('oauth_apps.id')
      .execute();
  }

  async setSecretHash(appId: number, hash: string): Promise<boolean> {
    const result = await this.db
      .updateTable('oauth_apps')
      .set({ client_secret_hash: hash })
      .where('id', '=', appId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** The app goes with its codes and every token granted to it, in one transaction. */
  deleteApp(appId: number): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      await trx.deleteFrom('access_tokens').where('app_id', '=', appId).execute();
      await trx.deleteFrom('oauth_codes').where('app_id', '=', appId).execute();
      const result = await trx.deleteFrom('oauth_apps').where('id', '=', appId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  async createCode(code: NewOAuthCode): Promise<void> {
    const now = Date.now();
    await inTransaction(this.db, async (trx) => {
      // Codes live minutes; a day past expiry nobody can present one again meaningfully.
      await trx
        .deleteFrom('oauth_codes')
        .where('expires_at', '<', now - 24 * 60 * 60 * 1000)
        .execute();
      await trx
        .insertInto('oauth_codes')
        .values({
          code_hash: code.hash,
          app_id: code.appId,
          user_id: code.userId,
          redirect_uri: code.redirectUri,
          scopes: code.scopes,
          code_challenge: code.codeChallenge,
          code_challenge_method: code.codeChallengeMethod,
          expires_at: code.expiresAt,
          created_at: now,
        })
        .execute();
    });
  }

  findCode(hash: string): Promise<OAuthCodeRow | undefined> {
    return this.db.selectFrom('oauth_codes').selectAll().where('code_hash', '=', hash).executeTakeFirst();
  }

  async useCode(hash: string, at: number): Promise<boolean> {
    // One statement: of two exchanges racing for a code, exactly one sees it unused.
    const result = await this.db
      .updateTable('oauth_codes')
      .set({ used_at: at })
      .where('code_hash', '=', hash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  issueToken(codeHash: string, token: NewOAuthToken): Promise<AccessTokenRow> {
    return inTransaction(this.db, async (trx) => {
      const row = await trx
        .insertInto('access_tokens')
        .values({
          user_id: token.userId,
          token_hash: token.hash,
          token_prefix: token.prefix,
          name: token.name,
          app_id: token.appId,
          scopes: token.scopes,
          created_at: Date.now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await trx
        .updateTable('oauth_codes')
        .set({ token_id: row.id })
        .where('code_hash', '=', codeHash)
        .execute();
      return row;
    });
  }

  async revokeTokenOfCode(codeHash: string): Promise<boolean> {
    const code = await this.findCode(codeHash);
    if (code?.token_id == null) return false;
    const result = await this.db
      .deleteFrom('access_tokens')
      .where('id', '=', code.token_id)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  listTokens(userId: number): Promise<TokenWithApp[]> {
    return this.db
      .selectFrom('access_tokens')
      .leftJoin('oauth_apps', 'oauth_apps.id', 'access_tokens.app_id')
      .selectAll('access_tokens')
      .select('oauth_apps.name as app_name')
      .where('access_tokens.user_id', '=', userId)
      .orderBy('access_tokens.id', 'desc')
      .execute();
  }

  async revokeToken(userId: number, tokenId: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('access_tokens')
      .where('id', '=', tokenId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
