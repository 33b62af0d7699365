import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/child.ts';
import { consent, pkcePair } from '../helpers/oauth.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { signedInCookie } from '../helpers/web-session.ts';

/** `gazo app …` in its own process, on the data dir of a server running meanwhile. */
describe('gazo app', { timeout: 120_000 }, () => {
  let server: TestServer;
  const gazo = (...args: string[]) => runCli([...args, '--data-dir', server.dataDir]);
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server?.close());

  it('creates an app whose printed client_id and client_secret get a token; lists and deletes it', async () => {
    const user = await server.user('cli-app-owner');
    const redirect = 'https://cli.example/cb';
    const created = await gazo(
      'app',
      'create',
      user.name,
      'CLI App',
      '--redirect-uri',
      redirect,
      '--redirect-uri',
      'http://127.0.0.1:7777/cb',
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const { client_id, client_secret, ...rest } = JSON.parse(created.stdout);
    expect(rest).toEqual({});
    expect(client_id).toMatch(/^[0-9a-f]{32}$/);

    const cookie = await signedInCookie(server, user.name, user.password);
    const pair = pkcePair();
    const back = await consent(server, cookie, {
      client_id,
      redirect_uri: redirect,
      response_type: 'code',
      code_challenge: pair.challenge,
      code_challenge_method: 'S256',
    });
    const res = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: back.searchParams.get('code') as string,
        redirect_uri: redirect,
        client_id,
        client_secret,
        code_verifier: pair.verifier,
      }),
    });
    expect(res.status).toBe(200);
    const { access_token } = await res.json();

    const listed = await gazo('app', 'list', user.name);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(client_id);
    expect(listed.stdout).toContain('CLI App');
    expect(listed.stdout).not.toContain(client_secret);

    const deleted = await gazo('app', 'delete', client_id);
    expect(deleted.code).toBe(0);
    const me = await fetch(`${server.url}/api/users/me`, {
      headers: { authorization: `Bearer ${access_token}` },
    });
    expect(me.status).toBe(401);
    expect((await gazo('app', 'delete', client_id)).code).toBe(1);
  });

  it('exits 2 on a usage mistake and 1 on a bad value, creating nothing', async () => {
    const user = await server.user('cli-app-mistakes');
    const missing = await gazo('app', 'create', user.name, 'No URI');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--redirect-uri/);
    const bad = await gazo('app', 'create', user.name, 'Bad URI', '--redirect-uri', 'javascript:alert(1)');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/javascript:/);
    const nobody = await gazo('app', 'create', 'no-such-user', 'X', '--redirect-uri', 'https://x.example/cb');
    expect(nobody.code).toBe(1);
    expect(bad.stdout + missing.stdout + nobody.stdout).toBe('');
    expect(await server.rt.oauth.listApps(user.id)).toEqual([]);
  });
});
