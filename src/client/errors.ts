/**
 * A request the server refused, or one that never got an answer (`status` 0). `message` is the
 * server's own (`{"message": …}` in the Gyazo error shape) when it sent one.
 */
export class GazoApiError extends Error {
  override readonly name = 'GazoApiError';

  constructor(
    readonly status: number,
    message: string,
    readonly method: string,
    /** The URL without its query string (which may hold a token). */
    readonly url: string,
    /** For a 429: how long the server asked us to wait, in milliseconds. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
