import { createHash, randomBytes } from 'node:crypto';
import type { TestServer } from './server.ts';

const unescapeHtml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The hidden fields of the first form on a page that posts to `action`. */
export function hiddenFields(page: string, action: string): Record<string, string> {
  const start = page.indexOf(`action="${action}"`);
  if (start === -1) throw new Error(`no form posting to ${action} in:\n${page.slice(0, 2000)}`);
  const form = page.slice(start, page.indexOf('</form>', start));
  const fields: Record<string, string> = {};
  for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[m[1] as string] = unescapeHtml(m[2] as string);
  }
  return fields;
}

/** PKCE S256 (RFC 7636), computed here independently of any library. */
export function pkcePair() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/**
 * Opens the consent page for these authorization parameters with a signed-in cookie and answers
 * it (`allow` or `deny`), as the page's form would. Returns where the browser is sent.
 */
export async function consent(
  server: TestServer,
  cookie: string,
  params: Record<string, string>,
  decision: 'allow' | 'deny' = 'allow',
): Promise<URL> {
  const page = await fetch(`${server.url}/oauth/authorize?${new URLSearchParams(params)}`, {
    redirect: 'manual',
    headers: { cookie },
  });
  if (page.status !== 200)
    throw new Error(`consent page answered ${page.status} ${page.headers.get('location')}`);
  const fields = hiddenFields(await page.text(), '/oauth/authorize');
  const res = await fetch(`${server.url}/oauth/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ ...fields, decision }),
  });
  if (res.status !== 303) throw new Error(`consent answered ${res.status}`);
  return new URL(res.headers.get('location') as string);
}
