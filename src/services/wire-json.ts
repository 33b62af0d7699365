import type { ListedImageRow } from '../store/schema.ts';
import { formatCreatedAt, type ImageUrls } from './wire.ts';

/**
 * `JSON.stringify(rows.map((row) => urls.toWire(row)))`, byte for byte, written straight from the
 * rows: a list page is the one answer made of many image objects, and building twenty of them
 * (with their nested objects) only for JSON.stringify to walk them again costs about a fifth of
 * turning the rows into JSON. The fields, their order and their rules are toWire's; the tests
 * compare the two on rows made to differ, so a field added there and not here fails them.
 */
export function wireImagesJson(urls: ImageUrls, rows: readonly ListedImageRow[]): string {
  return jsonArrayOf(rows.map((row) => wireImageJson(urls, row)));
}

/** A JSON array of values already serialised (each image's object, kept or just made). */
export const jsonArrayOf = (items: readonly string[]): string => `[${items.join(',')}]`;

/** One image's object, as in wireImagesJson. */
export function wireImageJson(urls: ImageUrls, row: ListedImageRow): string {
  const id = row.image_id;
  const type = row.type;
  // The URLs are made of the server's addresses, the id and the type: when none of those needs
  // escaping, neither do they, and they are not scanned again (a URL is a joined string, which a
  // scan flattens first: that was half of this function's time). The time is digits.
  const q = plainAddresses(urls) && !NEEDS_ESCAPING.test(id) && !NEEDS_ESCAPING.test(type) ? quote : str;
  let json =
    `{"image_id":${q(id)},"permalink_url":${q(urls.permalink(id))},` +
    `"thumb_url":${q(urls.thumb(id, type))},"url":${q(urls.raw(id, type))},` +
    `"type":${q(type)},"created_at":${quote(formatCreatedAt(Number(row.created_at)))},` +
    `"metadata":{"app":${strOrNull(row.app)},"title":${strOrNull(row.title)},"url":${strOrNull(row.url)},"desc":${str(row.desc)}},` +
    `"ocr":{"locale":${row.ocr_text === '' ? 'null' : strOrNull(row.ocr_locale)},"description":${str(row.ocr_text)}},` +
    `"access_policy":${row.access_policy === 'only_me' ? '"only_me"' : '"anyone"'},"alt_text":${str(row.alt_text)}`;
  if (row.latitude !== null && row.longitude !== null) {
    json += `,"exif_normalized":{"latitude":${JSON.stringify(row.latitude)},"longitude":${JSON.stringify(row.longitude)}}`;
  }
  return `${json}}`;
}

/** What JSON.stringify would escape: quotes, backslashes, control characters and (lone) surrogates. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what JSON escapes.
const NEEDS_ESCAPING = /["\\\u0000-\u001f\ud800-\udfff]/;

const quote = (s: string): string => `"${s}"`;
/** Most of the text is plain: quoting it is cheaper than JSON.stringify's walk over each string. */
const str = (s: string): string => (NEEDS_ESCAPING.test(s) ? JSON.stringify(s) : quote(s));
const strOrNull = (s: string | null): string => (s === null ? 'null' : str(s));

const plain = new WeakMap<ImageUrls, boolean>();
/** Whether the addresses the URLs start with need no escaping: asked once per ImageUrls. */
function plainAddresses(urls: ImageUrls): boolean {
  let answer = plain.get(urls);
  if (answer === undefined) {
    answer = !NEEDS_ESCAPING.test(`${urls.permalink('')} ${urls.thumb('', '')} ${urls.raw('', '')}`);
    plain.set(urls, answer);
  }
  return answer;
}
