import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { solidPng } from '../helpers/images.ts';
import { consent, hiddenFields, pkcePair } from '../helpers/oauth.ts';
import { form, startServer, type TestServer } from '../helpers/server.ts';
import { signedInCookie } from '../helpers/web-session.ts';

/**
 * The provider over plain HTTP: the consent form answered as a browser would post it (the real
 * browser runs in flow.test.ts), then every way a client may call /oauth/token, and the ways it
 * must refuse.
 */
let server: TestServer;
let cookie: string;
let clientId: string;
let clientSecret: string;
const REDIRECT = 'https://app.example/callback?keep=1';

beforeAll(async () => {
  server = await startServer();
  const user = await server.user('oauth-owner');
  cookie = await signedInCookie(server, user.name, user.password);
  const { app, clientSecret: secret } = await server.rt.oauth.createApp(user.id, 'Token Test App', [
    REDIRECT,
    'com.example.app:/oauth',
  ]);
  clientId = app.client_id;
  clientSecret = secret;
});
afterAll(() => server?.close());

/** A fresh code for `scope`, with the PKCE pair it was bound to (when `pkce`). */
async function newCode(scope = 'public upload', pkce = true) {
  const pair = pkcePair();
  const params: Record<string, string> = {
    client_id: clientId,
    redirect_uri: REDIRECT,
    response_type: 'code',
    scope,
    state: 'st-42',
  };
  if (pkce) Object.assign(params, { code_challenge: pair.challenge, code_challenge_method: 'S256' });
  const back = await consent(server, cookie, params);
  expect(back.origin + back.pathname).toBe('https://app.example/callback');
  expect(back.searchParams.get('state')).toBe('st-42');
  expect(back.searchParams.get('keep')).toBe('1');
  return { code: back.searchParams.get('code') as string, verifier: pair.verifier };
}

const tokenPost = (
  body: BodyInit | undefined,
  init: { query?: string; headers?: Record<string, string> } = {},
) =>
  fetch(`${server.url}/oauth/token${init.query ? `?${init.query}` : ''}`, {
    method: 'POST',
    headers: init.headers,
    body,
  });

const grant = (code: string, verifier: string | undefined, extra: Record<string, string> = {}) => {
  const params: Record<string, string> = {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    client_id: clientId,
    client_secret: clientSecret,
    ...extra,
  };
  if (verifier) params.code_verifier = verifier;
  return params;
};

async function expectToken(res: Response, scope = 'public upload') {
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(res.headers.get('cache-control')).toBe('no-store');
  const body = await res.json();
  expect(body).toMatchObject({ token_type: 'bearer', scope });
  expect(body).not.toHaveProperty('expires_in');
  expect(body).not.toHaveProperty('refresh_token');
  const me = await fetch(`${server.url}/api/users/me`, {
    headers: { authorization: `Bearer ${body.access_token}` },
  });
  expect(me.status).toBe(200);
  return body.access_token as string;
}

async function expectOAuthError(res: Response, status: number, error: string) {
  expect(res.status, await res.clone().text()).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
  const body = await res.json();
  expect(body.error).toBe(error);
  expect(typeof body.error_description).toBe('string');
}

describe('POST /oauth/token', () => {
  it('takes the parameters url-encoded', async () => {
    const { code, verifier } = await newCode();
    await expectToken(await tokenPost(new URLSearchParams(grant(code, verifier))));
  });

  it('takes them as JSON', async () => {
    const { code, verifier } = await newCode();
    const body = JSON.stringify(grant(code, verifier));
    await expectToken(await tokenPost(body, { headers: { 'content-type': 'application/json' } }));
  });

  it('takes them as multipart', async () => {
    const { code, verifier } = await newCode();
    await expectToken(await tokenPost(form(grant(code, verifier))));
  });

  it('takes them in the query string of an empty POST', async () => {
    const { code, verifier } = await newCode();
    await expectToken(
      await tokenPost(undefined, { query: new URLSearchParams(grant(code, verifier)).toString() }),
    );
  });

  it('takes the client credentials as HTTP Basic', async () => {
    const { code, verifier } = await newCode();
    const { client_id: _id, client_secret: _secret, ...rest } = grant(code, verifier);
    const basic = Buffer.from(`${clientId}:${clientSecret}`).toString('base64');
    await expectToken(
      await tokenPost(new URLSearchParams(rest), { headers: { authorization: `Basic ${basic}` } }),
    );
  });

  it('works without PKCE for a client that authenticates (as Gyazo clients do), and a public-only grant', async () => {
    const { code } = await newCode('', false);
    const token = await expectToken(await tokenPost(new URLSearchParams(grant(code, undefined))), 'public');
    const upload = await fetch(`${server.url}/api/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form({ imagedata: { data: await solidPng() } }),
    });
    expect(upload.status).toBe(403);
    expect(await server.imageCount()).toBe(0);
  });

  it('refuses a wrong client secret with 401 invalid_client, also over Basic, and the code still works after', async () => {
    const { code, verifier } = await newCode();
    await expectOAuthError(
      await tokenPost(new URLSearchParams(grant(code, verifier, { client_secret: 'not-the-secret' }))),
      401,
      'invalid_client',
    );
    const basic = Buffer.from(`${clientId}:wrong`).toString('base64');
    const { client_id: _id, client_secret: _secret, ...rest } = grant(code, verifier);
    const res = await tokenPost(new URLSearchParams(rest), { headers: { authorization: `Basic ${basic}` } });
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    await expectOAuthError(res, 401, 'invalid_client');
    // Without the secret at all (PKCE alone does not authenticate a client here).
    const { client_secret: _s, ...noSecret } = grant(code, verifier);
    await expectOAuthError(await tokenPost(new URLSearchParams(noSecret)), 401, 'invalid_client');
    await expectToken(await tokenPost(new URLSearchParams(grant(code, verifier))));
  });

  it('uses a code once: a second exchange fails and revokes the token the first one got', async () => {
    const { code, verifier } = await newCode();
    const token = await expectToken(await tokenPost(new URLSearchParams(grant(code, verifier))));
    await expectOAuthError(await tokenPost(new URLSearchParams(grant(code, verifier))), 400, 'invalid_grant');
    const me = await fetch(`${server.url}/api/users/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(401);
  });

  it('gives one token when two exchanges of a code race', async () => {
    const { code, verifier } = await newCode();
    const body = () => new URLSearchParams(grant(code, verifier));
    const answers = await Promise.all([tokenPost(body()), tokenPost(body()), tokenPost(body())]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 400, 400]);
  });

  it('refuses an expired code', async () => {
    const { code, verifier } = await newCode();
    // The server runs in this process: its clock moves three minutes on (codes live two).
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3 * 60_000 });
    try {
      const res = await tokenPost(new URLSearchParams(grant(code, verifier)));
      await expectOAuthError(res, 400, 'invalid_grant');
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a wrong PKCE verifier, a missing one, and then the code is spent', async () => {
    const { code, verifier } = await newCode();
    await expectOAuthError(
      await tokenPost(new URLSearchParams(grant(code, pkcePair().verifier))),
      400,
      'invalid_grant',
    );
    // The failed attempt used the code up: guessing verifiers gets one try per code.
    await expectOAuthError(await tokenPost(new URLSearchParams(grant(code, verifier))), 400, 'invalid_grant');
    const other = await newCode();
    await expectOAuthError(
      await tokenPost(new URLSearchParams(grant(other.code, undefined))),
      400,
      'invalid_grant',
    );
  });

  it('refuses a redirect_uri other than the one the code was issued for', async () => {
    const { code, verifier } = await newCode();
    const res = await tokenPost(
      new URLSearchParams(grant(code, verifier, { redirect_uri: 'com.example.app:/oauth' })),
    );
    await expectOAuthError(res, 400, 'invalid_request');
  });

  it('needs redirect_uri at the token step exactly when the authorization named it (RFC 6749 §4.1.3)', async () => {
    const { code, verifier } = await newCode();
    const { redirect_uri: _r, ...unnamed } = grant(code, verifier);
    await expectOAuthError(await tokenPost(new URLSearchParams(unnamed)), 400, 'invalid_request');

    const owner = await server.user('single-uri-owner');
    const single = await server.rt.oauth.createApp(owner.id, 'One URI', ['https://one.example/cb']);
    const back = await consent(server, cookie, { client_id: single.app.client_id, response_type: 'code' });
    expect(back.origin + back.pathname).toBe('https://one.example/cb');
    const res = await tokenPost(
      new URLSearchParams({
        grant_type: 'authorization_code',
        code: back.searchParams.get('code') as string,
        client_id: single.app.client_id,
        client_secret: single.clientSecret,
      }),
    );
    await expectToken(res, 'public');
    // An app with several redirect URIs must be told which one.
    const page = await fetch(`${server.url}/oauth/authorize?client_id=${clientId}&response_type=code`, {
      redirect: 'manual',
      headers: { cookie },
    });
    expect(page.status).toBe(400);
    expect(page.headers.get('location')).toBeNull();
  });

  it('refuses another grant type, a missing code, repeated parameters and a body of a type it cannot read', async () => {
    await expectOAuthError(
      await tokenPost(
        new URLSearchParams({ grant_type: 'password', client_id: clientId, client_secret: clientSecret }),
      ),
      400,
      'unauthorized_client',
    );
    await expectOAuthError(
      await tokenPost(
        new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: clientId,
          client_secret: clientSecret,
        }),
      ),
      400,
      'invalid_request',
    );
    await expectOAuthError(
      await tokenPost('code=a&code=b', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      400,
      'invalid_request',
    );
    await expectOAuthError(
      await tokenPost('{not json', { headers: { 'content-type': 'application/json' } }),
      400,
      'invalid_request',
    );
    await expectOAuthError(
      await tokenPost('x', { headers: { 'content-type': 'text/plain' } }),
      400,
      'invalid_request',
    );
  });
});

describe('POST /oauth/token, limited', () => {
  it('counts wrong client secrets against the address, like wrong tokens, then answers 429', async () => {
    const limited = await startServer({ maxAuthFailuresPerMinute: 2 });
    try {
      const owner = await limited.user('limited-owner');
      const { app, clientSecret: secret } = await limited.rt.oauth.createApp(owner.id, 'L', [REDIRECT]);
      const attempt = (clientSecretTried: string) =>
        fetch(`${limited.url}/oauth/token`, {
          method: 'POST',
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code: 'whatever',
            redirect_uri: REDIRECT,
            client_id: app.client_id,
            client_secret: clientSecretTried,
          }),
        });
      await expectOAuthError(await attempt('wrong-1'), 401, 'invalid_client');
      await expectOAuthError(await attempt('wrong-2'), 401, 'invalid_client');
      const refused = await attempt(secret);
      expect(refused.headers.get('retry-after')).toBeTruthy();
      await expectOAuthError(refused, 429, 'invalid_request');
    } finally {
      await limited.close();
    }
  });
});

describe('GET /oauth/authorize', () => {
  const authorize = (params: Record<string, string>) =>
    fetch(`${server.url}/oauth/authorize?${new URLSearchParams(params)}`, {
      redirect: 'manual',
      headers: { cookie, accept: 'text/html' },
    });
  const base = () => ({ client_id: clientId, redirect_uri: REDIRECT, response_type: 'code', state: 'abc' });

  it('shows an unknown client or a redirect_uri that was not registered as a page, never redirecting', async () => {
    for (const params of [
      { ...base(), client_id: 'no-such-client' },
      { ...base(), redirect_uri: 'https://evil.example/callback' },
      { ...base(), redirect_uri: 'https://app.example/callback' },
      { ...base(), redirect_uri: `${REDIRECT}&x=1` },
    ]) {
      const res = await authorize(params);
      expect(res.status, JSON.stringify(params)).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    }
  });

  it('redirects other errors to the client with the state (RFC 6749 §4.1.2.1)', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ ...base(), response_type: 'token' }, 'unsupported_response_type'],
      [{ ...base(), scope: 'public admin' }, 'invalid_scope'],
      [
        { ...base(), code_challenge: pkcePair().challenge, code_challenge_method: 'plain' },
        'invalid_request',
      ],
      [{ ...base(), code_challenge: pkcePair().challenge }, 'invalid_request'],
      [{ ...base(), code_challenge: 'short', code_challenge_method: 'S256' }, 'invalid_request'],
    ];
    for (const [params, error] of cases) {
      const res = await authorize(params);
      expect(res.status, JSON.stringify(params)).toBe(302);
      const to = new URL(res.headers.get('location') as string);
      expect(to.origin + to.pathname).toBe('https://app.example/callback');
      expect(to.searchParams.get('error')).toBe(error);
      expect(to.searchParams.get('state')).toBe('abc');
      expect(to.searchParams.get('keep')).toBe('1');
    }
  });

  it('sends a visitor to sign in and back to the same request', async () => {
    const res = await fetch(`${server.url}/oauth/authorize?${new URLSearchParams(base())}`, {
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    const next = new URL(res.headers.get('location') as string, server.url);
    expect(next.pathname).toBe('/signin');
    expect(next.searchParams.get('next')).toBe(`/oauth/authorize?${new URLSearchParams(base())}`);
  });

  it('lets the consent form post to the redirect origin (CSP form-action), and denying sends access_denied with the state', async () => {
    const page = await authorize({ ...base(), scope: 'public upload' });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(
      /form-action 'self' https:\/\/app\.example(;|$)/,
    );
    const text = await page.text();
    expect(text).toContain('Token Test App');
    expect(text).toContain('Upload images to your account');
    const back = await consent(server, cookie, { ...base(), scope: 'public upload' }, 'deny');
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('state')).toBe('abc');
    expect(back.searchParams.get('code')).toBeNull();
  });

  it('refuses a consent posted without its CSRF token, issuing no code', async () => {
    const page = await authorize(base());
    const { _csrf, ...fields } = hiddenFields(await page.text(), '/oauth/authorize');
    expect(_csrf).toBeTruthy();
    for (const body of [fields, { ...fields, _csrf: 'forged' }]) {
      const res = await fetch(`${server.url}/oauth/authorize`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
        body: new URLSearchParams({ ...body, decision: 'allow' }),
      });
      expect(res.status).toBe(403);
      expect(res.headers.get('location')).toBeNull();
    }
  });

  it('sends a custom-scheme redirect URI its code, and the CSP names the scheme', async () => {
    const params = { ...base(), redirect_uri: 'com.example.app:/oauth' };
    const page = await authorize(params);
    expect(page.headers.get('content-security-policy')).toMatch(/form-action 'self' com\.example\.app:/);
    const back = await consent(server, cookie, params);
    expect(back.protocol).toBe('com.example.app:');
    expect(back.searchParams.get('code')).toBeTruthy();
  });
});
