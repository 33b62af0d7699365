import type { SearchCriteria, SearchField, SearchTerm } from '../store/types.ts';

/**
 * Gyazo's search language, parsed into what the store matches:
 *
 * - `word` — a substring of the title, description, app, URL, alt text or text of the image;
 *   every word must match.
 * - `"some words"` — the phrase as one substring, spaces included.
 * - `title:word`, `desc:word`, `app:word`, `url:word`, `alt:word` (alt text) — in that field
 *   only; the value may be quoted: `app:"Google Chrome"`.
 * - `since:2024-01-01`, `until:2024-12-31`, `date:2024-05-21` — created on or after, on or
 *   before, or on that day. Days are UTC.
 *
 * Anything else is text: an unbalanced `"`, `*`, `-`, `^`, `NEAR`, `OR`, `(`, or a `:` that
 * does not follow a qualifier's name (`https://…`, `10:30`) is searched for as written. A
 * qualifier with no value or a day that is no day is an error, thrown as `SearchQueryError`.
 */
export class SearchQueryError extends Error {}

const TEXT_FIELDS: Record<string, SearchField> = {
  title: 'title',
  desc: 'desc',
  app: 'app',
  url: 'url',
  alt: 'alt_text',
};
const DATE_QUALIFIERS = new Set(['since', 'until', 'date']);
const DAY_MS = 86_400_000;
const QUALIFIER = /^([A-Za-z]+):/;
const SPACE = /\s/u;

export function parseSearchQuery(query: string): SearchCriteria {
  const terms: SearchTerm[] = [];
  let since: number | undefined;
  let before: number | undefined;
  let i = 0;
  while (i < query.length) {
    if (SPACE.test(query[i] as string)) {
      i++;
      continue;
    }
    const qualifier = QUALIFIER.exec(query.slice(i, i + 12));
    const name = qualifier?.[1]?.toLowerCase();
    if (qualifier && name && (name in TEXT_FIELDS || DATE_QUALIFIERS.has(name))) {
      const at = i + qualifier[0].length;
      if (at >= query.length || SPACE.test(query[at] as string)) {
        throw new SearchQueryError(`${name}: needs a value, as in ${example(name)}`);
      }
      const value = readValue(query, at);
      i = value.end;
      if (DATE_QUALIFIERS.has(name)) {
        const day = dayStart(name, value.text);
        if (name !== 'until') since = Math.max(since ?? day, day);
        if (name !== 'since') before = Math.min(before ?? day + DAY_MS, day + DAY_MS);
      } else if (value.text !== '') {
        terms.push({ text: value.text, field: TEXT_FIELDS[name] });
      }
      continue;
    }
    const value = readValue(query, i);
    i = value.end;
    if (value.text !== '') terms.push({ text: value.text });
  }
  if (terms.length === 0 && since === undefined && before === undefined) {
    throw new SearchQueryError('query has nothing to search for');
  }
  return { terms, ...(since === undefined ? {} : { since }), ...(before === undefined ? {} : { before }) };
}

/** A quoted phrase when a closing quote follows; otherwise the text up to the next space, as is. */
function readValue(query: string, at: number): { text: string; end: number } {
  if (query[at] === '"') {
    const close = query.indexOf('"', at + 1);
    if (close !== -1) return { text: query.slice(at + 1, close).trim(), end: close + 1 };
  }
  let end = at;
  while (end < query.length && !SPACE.test(query[end] as string)) end++;
  return { text: query.slice(at, end), end };
}

/** Midnight UTC of a YYYY-MM-DD day, in ms. */
function dayStart(name: string, text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (m) {
    const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const ms = Date.UTC(year, month - 1, day);
    const back = new Date(ms);
    if (back.getUTCFullYear() === year && back.getUTCMonth() === month - 1 && back.getUTCDate() === day) {
      return ms;
    }
  }
  throw new SearchQueryError(
    `${name}: wants a day as YYYY-MM-DD (UTC), as in ${example(name)}; got "${text}"`,
  );
}

const example = (name: string) =>
  DATE_QUALIFIERS.has(name) ? `${name}:2024-05-21` : name === 'app' ? 'app:"Google Chrome"' : `${name}:word`;
