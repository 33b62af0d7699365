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

/** Optional text: absent when empty, refused when absurdly long. */
export function optionalText(name: string, value: string | undefined, max = 10_000): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (value.length > max) throw badRequest(`${name} is longer than ${max} characters`);
  return value;
}
