import { badRequest } from './errors.ts';

/**
 * What clients send as upload fields, turned into values. Shared by the API upload and the
 * legacy upload.cgi. Empty strings mean "absent" (COMPAT.md).
 */

/** Seconds (integer or float) or, above 1e11, milliseconds; returns milliseconds. */
export function parseCreatedAt(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  // Decimal digits only: Number() would also take "0x10", "1e3" or "Infinity".
  if (!/^\d{1,16}(\.\d+)?$/.test(value.trim()))
    throw badRequest(`created_at must be a Unix time, got "${value}"`);
  const n = Number(value.trim());
  const ms = n > 1e11 ? n : n * 1000;
  if (ms > 8.64e15) throw badRequest(`created_at is out of range: "${value}"`);
  return Math.round(ms);
}

export function parseBoolean(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw badRequest(`${name} must be "true" or "false", got "${value}"`);
}

export function parseAccessPolicy(value: string | undefined): 'anyone' | 'only_me' | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === 'anyone' || value === 'only_me') return value;
  throw badRequest(`access_policy must be "anyone" or "only_me", got "${value}"`);
}

/** C0 controls but tab, LF and CR: NUL and its kin have no place in text, and confuse what shows it. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]/;

/** The longest text field (title, desc, app, URL, alt text), in UTF-16 code units. */
export const MAX_TEXT_FIELD = 10_000;

/** Optional text: absent when empty, refused when absurdly long or carrying control characters. */
export function optionalText(
  name: string,
  value: string | undefined,
  max = MAX_TEXT_FIELD,
): string | undefined {
  if (value === undefined || value === '') return undefined;
  return checkedText(name, value, max);
}

/** The text as given, refused (400) when absurdly long or carrying control characters. */
export function checkedText(name: string, value: string, max = MAX_TEXT_FIELD): string {
  if (value.length > max) throw badRequest(`${name} is longer than ${max} characters`);
  const control = CONTROL.exec(value)?.[0];
  if (control !== undefined) {
    const code = control.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw badRequest(`${name} contains a control character (U+${code}); only tab, CR and LF are allowed`);
  }
  return value;
}
