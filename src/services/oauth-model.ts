import { randomBytes, timingSafeEqual } from 'node:crypto';
import type OAuth2Server from '@node-oauth/oauth2-server';
import type { OAuthAppRow } from '../store/schema.ts';
import type { MetadataStore } from '../store/types.ts';
import { hashSecret, newToken } from './accounts.service.ts';
import { parseScopes, SCOPES, type Scope } from './principal.ts';

/** What the library calls a client: one of our apps, with its internal id beside. */
export interface OAuthClient extends OAuth2Server.Client {
  id: string;
  appId: number;
  name: string;
  redirectUris: string[];
  grants: string[];
}

export const redirectUrisOf = (app: OAuthAppRow) => app.redirect_uris.split('\n').filter(Boolean);

export const clientOf = (app: OAuthAppRow): OAuthClient => ({
  id: app.client_id,
  appId: app.id,
  name: app.name,
  redirectUris: redirectUrisOf(app),
  grants: ['authorization_code'],
});

/** The scopes asked for, as the library hands them over: none means `public`; unknown ones are refused. */
export function grantedScopes(requested: string[] | undefined): Scope[] | undefined {
  const words = (requested ?? []).filter(Boolean);
  if (words.length === 0) return ['public'];
  if (!words.every((w) => (SCOPES as string[]).includes(w))) return undefined;
  return SCOPES.filter((s) => words.includes(s));
}

const sameHash = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * The storage model @node-oauth/oauth2-server runs the authorization-code grant on: apps,
 * codes (hashed, single-use) and tokens (hashed, with their app and scopes) in our store.
 */
export function oauthModel(store: MetadataStore): OAuth2Server.AuthorizationCodeModel {
  return {
    // The authorize step asks with a null secret (it only identifies the app); the token step
    // with what the client sent, which must be the app's secret (no public clients here).
    async getClient(clientId: string, clientSecret: string | null | undefined) {
      const app = await store.oauth.findAppByClientId(clientId);
      if (!app) return false;
      if (clientSecret === null) return clientOf(app);
      if (!clientSecret || !sameHash(hashSecret(clientSecret), app.client_secret_hash)) return false;
      return clientOf(app);
    },

    async validateScope(_user, _client, scope) {
      return grantedScopes(scope) ?? false;
    },

    async generateAuthorizationCode() {
      return randomBytes(32).toString('base64url');
    },

    async saveAuthorizationCode(code, client, user) {
      await store.oauth.createCode({
        hash: hashSecret(code.authorizationCode),
        appId: (client as OAuthClient).appId,
        userId: user.id as number,
        // '' when the request named none: the token request need not name it either.
        redirectUri: user.redirectUriGiven === false ? '' : code.redirectUri,
        scopes: (code.scope ?? ['public']).join(' '),
        codeChallenge: code.codeChallenge ?? null,
        codeChallengeMethod: code.codeChallengeMethod ?? null,
        expiresAt: code.expiresAt.getTime(),
      });
      return { ...code, client, user };
    },

    async getAuthorizationCode(code: string) {
      const hash = hashSecret(code);
      const row = await store.oauth.findCode(hash);
      if (!row) return false;
      if (row.used_at !== null) {
        // RFC 6749 §4.1.2: a code presented twice may have been stolen; what it gave is taken back.
        await store.oauth.revokeTokenOfCode(hash);
        return false;
      }
      const [app, user] = await Promise.all([
        store.oauth.findAppById(row.app_id),
        store.users.findById(row.user_id),
      ]);
      if (!app || !user || user.disabled_at !== null) return false;
      return {
        authorizationCode: code,
        expiresAt: new Date(Number(row.expires_at)),
        redirectUri: row.redirect_uri,
        scope: [...parseScopes(row.scopes)],
        client: clientOf(app),
        user: { id: user.id },
        codeChallenge: row.code_challenge ?? undefined,
        codeChallengeMethod: row.code_challenge_method ?? undefined,
      };
    },

    async revokeAuthorizationCode(code) {
      return store.oauth.useCode(hashSecret(code.authorizationCode), Date.now());
    },

    async generateAccessToken() {
      return newToken();
    },

    async saveToken(token, client, user) {
      const app = client as OAuthClient;
      const scopes = token.scope ?? ['public'];
      await store.oauth.issueToken(hashSecret(String(token.authorizationCode)), {
        userId: user.id as number,
        hash: hashSecret(token.accessToken),
        prefix: token.accessToken.slice(0, 6),
        name: app.name,
        appId: app.appId,
        scopes: scopes.join(' '),
      });
      // Tokens do not expire (clients assume so) and there are no refresh tokens.
      return { accessToken: token.accessToken, scope: scopes, client, user };
    },

    // Only for the library's own bearer authentication, which Gazo does not use (auth.ts does).
    async getAccessToken() {
      return false;
    },
  };
}
