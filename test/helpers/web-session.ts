import type { TestServer } from './server.ts';

/**
 * A browser's session, driven with fetch: signed in through the form, with its cookies and a
 * CSRF token bound to its session (as a page it opened would carry). For the tests of what a
 * request with or without the token does, which a browser cannot be made to send.
 */
export interface WebSession {
  cookie: string;
  csrf: string;
  /** A request with the session's cookies; redirects are not followed. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** A url-encoded form post, `_csrf` included unless `csrf` is false. */
  post(path: string, fields?: Record<string, string>, options?: { csrf?: boolean }): Promise<Response>;
}

const csrfOf = (html: string) =>
  /<meta name="csrf-token" content="([^"]+)"/.exec(html)?.[1] ??
  /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ??
  '';

export async function webSession(server: TestServer, name: string, password: string): Promise<WebSession> {
  const jar = new Map<string, string>();
  const keep = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [key, ...rest] = (pair ?? '').split('=');
      if (key) jar.set(key, rest.join('='));
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const get = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${server.url}${path}`, {
      redirect: 'manual',
      ...init,
      headers: { cookie: cookie(), ...(init.headers as Record<string, string>) },
    });
    keep(res);
    return res;
  };
  const signin = await get('/signin');
  const res = await get('/signin', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ name, password, _csrf: csrfOf(await signin.text()) }).toString(),
  });
  if (res.status !== 303) throw new Error(`sign-in failed: ${res.status}`);
  const home = await get('/');
  const csrf = csrfOf(await home.text());
  const session: WebSession = {
    get cookie() {
      return cookie();
    },
    csrf,
    fetch: get,
    post: (path, fields = {}, options = {}) =>
      get(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(options.csrf === false ? fields : { _csrf: csrf, ...fields }).toString(),
      }),
  };
  return session;
}

/** The `Cookie` header of a browser signed in through the form (see webSession). */
export async function signedInCookie(server: TestServer, name: string, password: string): Promise<string> {
  return (await webSession(server, name, password)).cookie;
}
