import { randomBytes } from 'node:crypto';
import OAuth2Server from '@node-oauth/oauth2-server';
import type { OAuthAppRow } from '../store/schema.ts';
import type { MetadataStore, TokenWithApp } from '../store/types.ts';
import { type AccountsService, hashSecret } from './accounts.service.ts';
import { badRequest, notFound } from './errors.ts';
import { checkAppName, checkRedirectUris, withQuery } from './oauth-checks.ts';
import { grantedScopes, oauthModel, redirectUrisOf } from './oauth-model.ts';
import type { Principal, Scope } from './principal.ts';

/** How long an authorization code may wait for its exchange (RFC 6749 §4.1.2: "short-lived"). */
export const CODE_LIFETIME_S = 120;

/** An OAuth error the client gets as RFC 6749 says: `{error, error_description}` and a status. */
export class OAuthProblem extends Error {
  constructor(
    readonly error: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** An authorization request that checked out, waiting for the user's consent. */
export interface AuthorizationRequest {
  app: { id: number; name: string; clientId: string; ownerName: string };
  redirectUri: string;
  /** Whether the request named it: only then must the token request repeat it (RFC 6749 §4.1.3). */
  redirectUriGiven: boolean;
  scopes: Scope[];
  state: string | undefined;
  codeChallenge: string | undefined;
  codeChallengeMethod: 'S256' | undefined;
}

/** A request to ask the user about, or an error to send back to the client's redirect URI. */
export type AuthorizationCheck =
  | { ok: true; request: AuthorizationRequest }
  | { ok: false; redirect: string };

const PKCE_CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;
/** RFC 6749 VSCHAR: what `state` may hold (the library refuses anything else too). */
const VSCHAR = /^[\x20-\x7e]{1,1024}$/;

/**
 * OAuth applications and the provider around them, on @node-oauth/oauth2-server: checking an
 * authorization request before consent, issuing the code after it, exchanging codes for tokens.
 */
export class OAuthService {
  private readonly server: OAuth2Server;

  constructor(
    private readonly store: MetadataStore,
    private readonly accounts: AccountsService,
  ) {
    const model = oauthModel(store);
    this.server = new OAuth2Server({
      model,
      allowEmptyState: true,
      authorizationCodeLifetime: CODE_LIFETIME_S,
    });
  }

  /** Registers an app; the secret is returned this once (only its hash is kept). */
  async createApp(ownerId: number, name: string, redirectUris: string[]) {
    const clientSecret = randomBytes(32).toString('base64url');
    const app = await this.store.oauth.createApp({
      userId: ownerId,
      name: checkAppName(name),
      clientId: randomBytes(16).toString('hex'),
      clientSecretHash: hashSecret(clientSecret),
      redirectUris: checkRedirectUris(redirectUris),
    });
    return { app, clientSecret };
  }

  async createAppFor(userName: string, name: string, redirectUris: string[]) {
    return this.createApp((await this.accounts.requireUser(userName)).id, name, redirectUris);
  }

  /** One user's apps, or (for the operator) everyone's. */
  listApps(ownerId?: number) {
    return this.store.oauth.listApps(ownerId);
  }

  /** A new secret for the owner's app; the old one stops working at once. */
  async newSecret(ownerId: number, appId: number): Promise<string> {
    await this.ownApp(ownerId, appId);
    const clientSecret = randomBytes(32).toString('base64url');
    await this.store.oauth.setSecretHash(appId, hashSecret(clientSecret));
    return clientSecret;
  }

  /** Deletes the owner's app (or, with no owner, the operator's pick) and revokes its tokens. */
  async deleteApp(ownerId: number | undefined, appIdOrClientId: number | string): Promise<OAuthAppRow> {
    const app =
      typeof appIdOrClientId === 'number'
        ? await this.store.oauth.findAppById(appIdOrClientId)
        : await this.store.oauth.findAppByClientId(appIdOrClientId);
    if (!app || (ownerId !== undefined && app.user_id !== ownerId)) throw notFound('No such application');
    await this.store.oauth.deleteApp(app.id);
    return app;
  }

  private async ownApp(ownerId: number, appId: number): Promise<OAuthAppRow> {
    const app = await this.store.oauth.findAppById(appId);
    if (!app || app.user_id !== ownerId) throw notFound('No such application');
    return app;
  }

  /** The user's tokens (personal and granted to apps), newest first. */
  listTokens(userId: number): Promise<TokenWithApp[]> {
    return this.store.oauth.listTokens(userId);
  }

  async revokeToken(userId: number, tokenId: number): Promise<void> {
    if (!(await this.store.oauth.revokeToken(userId, tokenId))) throw notFound('No such token');
  }

  /** A personal access token (every scope), shown this once. */
  async createPersonalToken(user: Principal, name: string): Promise<string> {
    const trimmed = name.trim();
    if (trimmed.length > 100 || /[\p{Cc}]/u.test(trimmed))
      throw badRequest('A token name is at most 100 characters');
    return (await this.accounts.createToken(user.name, trimmed || null)).token;
  }

  /**
   * Checks `GET /oauth/authorize`'s parameters. An unknown client or a redirect URI that is not
   * one the app registered is thrown (shown to the user as a page: sending them there could
   * make Gazo an open redirector); anything else wrong goes back to the client (RFC 6749 §4.1.2.1).
   */
  async checkAuthorization(params: Record<string, unknown>): Promise<AuthorizationCheck> {
    const single = (name: string) => {
      const value = params[name];
      if (value === undefined || value === '') return undefined;
      return typeof value === 'string' ? value : null;
    };
    const clientId = single('client_id');
    if (!clientId) throw badRequest('This link names no application (client_id is missing).');
    const app = await this.store.oauth.findAppByClientId(clientId);
    if (!app)
      throw badRequest('No application here has this client_id: the link is wrong or the app was deleted.');
    const registered = redirectUrisOf(app);
    const given = single('redirect_uri');
    if (given === null || (given !== undefined && !registered.includes(given))) {
      throw badRequest(`The redirect_uri is not one that "${app.name}" registered.`);
    }
    if (given === undefined && registered.length !== 1) {
      throw badRequest(
        `"${app.name}" registered several redirect URIs: the link must name one (redirect_uri).`,
      );
    }
    const redirectUri = given ?? (registered[0] as string);
    const rawState = single('state');
    const state = typeof rawState === 'string' && VSCHAR.test(rawState) ? rawState : undefined;
    const refuse = (error: string, description: string): AuthorizationCheck => ({
      ok: false,
      redirect: withQuery(redirectUri, { error, error_description: description, state }),
    });

    for (const name of ['response_type', 'scope', 'state', 'code_challenge', 'code_challenge_method']) {
      if (single(name) === null) return refuse('invalid_request', `${name} is given more than once`);
    }
    if (rawState !== undefined && state === undefined) return refuse('invalid_request', 'state is not valid');
    const responseType = single('response_type');
    if (!responseType) return refuse('invalid_request', 'response_type is missing');
    if (responseType !== 'code')
      return refuse('unsupported_response_type', 'only response_type=code is supported');
    const scopes = grantedScopes(single('scope')?.trim().split(/\s+/));
    if (!scopes) return refuse('invalid_scope', 'the scopes are "public" and "upload"');
    const challenge = single('code_challenge');
    const method = single('code_challenge_method');
    if (method !== undefined && method !== 'S256') {
      return refuse('invalid_request', 'code_challenge_method must be S256 ("plain" is not accepted)');
    }
    if (challenge !== undefined && method === undefined) {
      return refuse('invalid_request', 'code_challenge_method=S256 must come with code_challenge');
    }
    if (method !== undefined && (!challenge || !PKCE_CHALLENGE.test(challenge))) {
      return refuse('invalid_request', 'code_challenge is missing or malformed');
    }
    const owner = await this.store.users.findById(app.user_id);
    return {
      ok: true,
      request: {
        app: { id: app.id, name: app.name, clientId: app.client_id, ownerName: owner?.name ?? '' },
        redirectUri,
        redirectUriGiven: given !== undefined,
        scopes,
        state,
        codeChallenge: challenge ?? undefined,
        codeChallengeMethod: method === 'S256' ? 'S256' : undefined,
      },
    };
  }

  /** The user said no: where to send them (RFC 6749 §4.1.2.1, `access_denied`). */
  denied(request: AuthorizationRequest): string {
    return withQuery(request.redirectUri, {
      error: 'access_denied',
      error_description: 'The user did not allow access',
      state: request.state,
    });
  }

  /** The user allowed it: a code is issued and this is where to send them with it. */
  async approve(request: AuthorizationRequest, user: Principal): Promise<string> {
    const body: Record<string, string> = {
      client_id: request.app.clientId,
      redirect_uri: request.redirectUri,
      response_type: 'code',
      scope: request.scopes.join(' '),
    };
    if (request.state) body.state = request.state;
    if (request.codeChallenge) {
      body.code_challenge = request.codeChallenge;
      body.code_challenge_method = 'S256';
    }
    try {
      const code = await this.server.authorize(libraryRequest(body), new OAuth2Server.Response(), {
        // The library records the redirect URI it defaulted to as if given: the model is told.
        authenticateHandler: {
          handle: async () => ({ id: user.userId, redirectUriGiven: request.redirectUriGiven }),
        },
      });
      return withQuery(request.redirectUri, { code: code.authorizationCode, state: request.state });
    } catch (err) {
      if (!(err instanceof OAuth2Server.OAuthError)) throw err;
      return withQuery(request.redirectUri, {
        error: err.name,
        error_description: err.message,
        state: request.state,
      });
    }
  }

  /**
   * `POST /oauth/token`: exchanges a code for a token. `params` are the request's parameters
   * from wherever they came (body of any type, query); `authorization` its header (HTTP Basic).
   */
  async exchange(params: Record<string, string>, authorization: string | undefined) {
    const headers: Record<string, string> = {};
    if (authorization) headers.authorization = authorization;
    try {
      const token = await this.server.token(libraryRequest(params, headers), new OAuth2Server.Response(), {
        requireClientAuthentication: { authorization_code: true },
      });
      return { accessToken: token.accessToken, scope: (token.scope ?? []).join(' ') };
    } catch (err) {
      if (!(err instanceof OAuth2Server.OAuthError)) throw err;
      // A fault of ours (the model threw, a bad argument): the log gets it, the client a 500.
      if (err.code >= 500) throw (err as { inner?: Error }).inner ?? err;
      // RFC 6749 §5.2: a client that failed to authenticate gets 401.
      const status = err.name === 'invalid_client' ? 401 : err.code;
      throw new OAuthProblem(err.name, err.message, status);
    }
  }
}

/**
 * The library reads only url-encoded POST bodies; the HTTP layer has already read the body,
 * whatever its type, into `params`, so it is handed over as the url-encoded form it stands for.
 */
function libraryRequest(params: Record<string, string>, headers: Record<string, string> = {}) {
  return new OAuth2Server.Request({
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded', 'content-length': '1' },
    query: {},
    body: params,
  });
}
