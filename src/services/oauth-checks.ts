import { badRequest } from './errors.ts';

const MAX_REDIRECT_URIS = 10;
/** Schemes a browser would run or read locally rather than hand to an app. */
const REFUSED_SCHEMES = new Set(['javascript:', 'data:', 'file:', 'vbscript:', 'blob:', 'about:']);

export function checkAppName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > 100 || /\p{Cc}/u.test(trimmed)) {
    throw badRequest('An application name is 1 to 100 characters, without control characters');
  }
  return trimmed;
}

/**
 * Redirect URIs as RFC 6749 §3.1.2 wants them: absolute, no fragment. Custom schemes
 * (`com.example.app:/cb`) and loopback http are fine for native apps; they are matched exactly.
 */
export function checkRedirectUris(uris: string[]): string[] {
  const list = [...new Set(uris.map((u) => u.trim()).filter(Boolean))];
  if (list.length === 0) throw badRequest('An application needs at least one redirect URI');
  if (list.length > MAX_REDIRECT_URIS)
    throw badRequest(`An application has at most ${MAX_REDIRECT_URIS} redirect URIs`);
  for (const uri of list) {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw badRequest(`Not an absolute URI: ${uri.slice(0, 200)}`);
    }
    if (uri.length > 2000 || /[\s\p{Cc}]/u.test(uri))
      throw badRequest('A redirect URI has at most 2000 characters, no spaces');
    if (uri.includes('#')) throw badRequest(`A redirect URI has no fragment (#…): ${uri}`);
    if (REFUSED_SCHEMES.has(url.protocol)) throw badRequest(`A redirect URI cannot use ${url.protocol}`);
  }
  return list;
}

/** The URI with these query parameters added (those undefined left out), keeping its own. */
export function withQuery(uri: string, params: Record<string, string | undefined>): string {
  const url = new URL(uri);
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) url.searchParams.set(name, value);
  return url.toString();
}

/**
 * What a page's CSP `form-action` must allow for a form whose answer redirects to `uri`: its
 * origin, or for a custom scheme the scheme itself.
 */
export function formTargetOf(uri: string): string {
  const url = new URL(uri);
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
}
