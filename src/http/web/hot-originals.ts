import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Runtime } from '../../runtime.ts';
import type { ImageRow } from '../../store/schema.ts';
import { COMMON_HEADERS } from '../common-headers.ts';
import { ORIGINAL_PATH, redirectsOriginals } from './image-files.ts';
import { originalHeaderValues } from './image-headers.ts';

/**
 * The hot path of an image host: `GET /<id>.<ext>` of an image anyone with the link may see,
 * whose row and bytes are both in memory, answered on node:http before Fastify. Through the
 * route such a request took 52–58 µs of user CPU, more than the kernel's write of a 200 KB file
 * (about 40 µs); bare Fastify alone takes 28 (the raw row of `npm run bench`). The answer is the
 * one the route gives (image-files.ts): the same headers, from the same functions, and the same
 * bytes.
 *
 * Anything that needs more goes through the routes, which fill the caches this path reads:
 * another method, a query, a token (it may be refused, or counted), a Range or a validator, a
 * private image, bytes not in memory, presigned S3 redirects. A delete or a change of policy
 * commits, which empties the row cache at once (see CommittedCache).
 *
 * Returns false when it did not answer.
 */
export function hotOriginals(rt: Runtime): (request: IncomingMessage, response: ServerResponse) => boolean {
  // Presigned redirects answer originals from S3: never from here.
  if (redirectsOriginals(rt)) return () => false;
  return (request, response) => {
    if (request.method !== 'GET' || !request.url) return false;
    // The path and nothing more: a query (`?access_token=`) goes the usual way.
    const match = ORIGINAL_PATH.exec(request.url);
    if (!match) return false;
    const { headers } = request;
    if (headers.authorization || headers.range || headers['if-none-match'] || headers['if-range']) {
      return false;
    }
    const hot = rt.images.peekPublicOriginal(match[1] as string);
    if (!hot) return false;
    response.writeHead(200, headersOf(hot.row, hot.bytes.length));
    response.end(hot.bytes);
    return true;
  };
}

/**
 * Each kept row's response headers, as the flat name-value list writeHead takes, made once:
 * building the object anew for every request cost more than the rest of this path. A row that
 * changes is a new object (the cache is emptied on every commit), so its headers are made anew.
 */
const headerLists = new WeakMap<ImageRow, string[]>();

function headersOf(row: ImageRow, length: number): string[] {
  let list = headerLists.get(row);
  if (!list) {
    const headers = { ...COMMON_HEADERS, ...originalHeaderValues(row), 'content-length': String(length) };
    list = Object.entries(headers).flat();
    headerLists.set(row, list);
  }
  return list;
}
