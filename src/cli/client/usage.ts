import { InvalidArgumentError } from 'commander';

/** A mistake in how a command was called: exit code 2, as for commander's own usage errors. */
export class UsageError extends Error {}

/** A whole number ≥ 1, for commander's argument parsers. */
export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new InvalidArgumentError('expected a whole number ≥ 1');
  return Number(value);
}

/** An absolute http(s) URL without a trailing slash. */
export function httpUrl(value: string, what = 'URL'): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${what} must be an absolute http(s) URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`${what} must be an http(s) URL, got "${value}"`);
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}
