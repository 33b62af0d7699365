import type { TestServer } from './server.ts';

const cookiesOf = (res: Response) => res.headers.getSetCookie().map((c) => c.split(';')[0] as string);

/**
 * Signs in through the sign-in form over HTTP, as a browser would (its CSRF cookie and token
 * first), and answers the `Cookie` header that the browser would send from then on.
 */
export async function signedInCookie(server: TestServer, name: string, password: string): Promise<string> {
  const page = await fetch(`${server.url}/signin`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const before = cookiesOf(page);
  const res = await fetch(`${server.url}/signin`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: before.join('; ') },
    body: new URLSearchParams({ name, password, _csrf: csrf }).toString(),
  });
  if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
  const jar = new Map([...before, ...cookiesOf(res)].map((c) => [c.split('=')[0], c]));
  return [...jar.values()].join('; ');
}
