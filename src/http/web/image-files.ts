import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import parseRange from 'range-parser';
import type { ByteRange } from '../../blobs/blob-store.ts';
import type { Runtime } from '../../runtime.ts';
import type { ImageRow } from '../../store/schema.ts';

import { sendError } from '../errors.ts';
import { ImageId } from '../schemas.ts';
import type { GazoApp } from '../types.ts';
import {
  cacheControl,
  contentType,
  imageHeaderValues,
  originalEtag,
  originalHeaderValues,
} from './image-headers.ts';
import { sendDeviceLink } from './pages/device-link.ts';
import { sendOwnerImagePage } from './pages/image-owner.ts';
import { permalinkPage } from './permalink-page.ts';
import { sessionViewer } from './session.ts';
import { webViewer } from './viewer.ts';

/** An original's extension: a hint, the Content-Type comes from the bytes. */
const EXTENSION = '(png|jpg|jpeg|gif|webp)';
/** `<image_id>` or `<image_id>.<ext>`. */
const FILE = new RegExp(`^([0-9a-f]{32})(?:\\.${EXTENSION})?$`);
/** The path of an original, `/<image_id>.<ext>` (hot-originals.ts answers it before the route). */
export const ORIGINAL_PATH = new RegExp(`^/([0-9a-f]{32})\\.${EXTENSION}$`);

const hidden = { hide: true };

/** Originals up to this size are read whole (from the in-memory cache when hot); larger ones stream. */
const READ_WHOLE_UP_TO = 1024 * 1024;

/** Sets the headers of stored image bytes (see imageHeaderValues). */
const imageHeaders = (reply: FastifyReply, row: ImageRow, etag: string, type?: string) =>
  reply.headers(imageHeaderValues(row, etag, type));

/** Originals are answered with a redirect to a presigned S3 URL (`presign=1`), not their bytes. */
export const redirectsOriginals = (rt: Runtime) =>
  rt.config.blobs.kind === 's3' && Boolean(rt.config.blobs.presignSeconds);

/** True when the client holds these bytes already: answered 304 before any byte is fetched. */
function notModified(request: FastifyRequest, etag: string): boolean {
  return request.headers['if-none-match']?.split(',').some((t) => t.trim() === etag) ?? false;
}

/** The one byte range to send, `unsatisfiable`, or undefined for the whole file (RFC 9110 §14). */
function askedRange(
  request: FastifyRequest,
  etag: string,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  const header = request.headers.range;
  if (!header) return undefined;
  // If-Range with another validator: the client's partial copy is stale, so send it all.
  const ifRange = request.headers['if-range'];
  if (ifRange !== undefined && ifRange !== etag) return undefined;
  const ranges = parseRange(size, header, { combine: true });
  if (ranges === -1) return 'unsatisfiable';
  // Malformed, another unit, or several ranges (multipart/byteranges, which no image viewer needs).
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return undefined;
  return ranges[0];
}

const imageNotFound = (request: FastifyRequest, reply: FastifyReply) =>
  sendError(request, reply, 404, 'image not found');

async function serveOriginal(rt: Runtime, request: FastifyRequest, reply: FastifyReply, imageId: string) {
  const row = await rt.images.findViewable(imageId, await webViewer(rt, request));
  if (!row) return imageNotFound(request, reply);
  const etag = originalEtag(row);
  if (notModified(request, etag)) return imageHeaders(reply, row, etag).code(304).send();
  // Checked from the configuration first: the hot path of a folder store makes no extra call.
  const direct = redirectsOriginals(rt)
    ? await rt.images.directOriginalUrl(row, {
        contentType: contentType(row.type),
        cacheControl: cacheControl(row),
        contentDisposition: 'inline',
      })
    : undefined;
  // The URL is a capability that expires: never cached, by the browser or anyone between.
  if (direct) return reply.header('Cache-Control', 'private, no-store').redirect(direct, 302);
  if (!request.headers.range && row.byte_size <= READ_WHOLE_UP_TO) {
    const bytes = await rt.images.readOriginal(row);
    if (!bytes) return imageNotFound(request, reply);
    return reply.headers(originalHeaderValues(row)).send(bytes);
  }
  const stat = await rt.images.statOriginal(row);
  if (!stat) return imageNotFound(request, reply);
  const range = askedRange(request, etag, stat.size);
  if (range === 'unsatisfiable') {
    reply.header('Content-Range', `bytes */${stat.size}`);
    return sendError(request, reply, 416, 'range not satisfiable');
  }
  const body = await rt.images.streamOriginal(row, range);
  if (!body) return imageNotFound(request, reply);
  reply.headers(originalHeaderValues(row));
  if (!range) return reply.header('Content-Length', stat.size).send(body);
  return reply
    .code(206)
    .headers({
      'Content-Range': `bytes ${range.start}-${range.end}/${stat.size}`,
      'Content-Length': range.end - range.start + 1,
    })
    .send(body);
}

export function imageFileRoutes(app: GazoApp, rt: Runtime) {
  // One route for the permalink page (`/<id>`) and the raw file (`/<id>.<ext>`).
  app.get(
    '/:file',
    { schema: { ...hidden, params: Type.Object({ file: Type.String({ maxLength: 64 }) }) } },
    async (request, reply) => {
      const match = FILE.exec(request.params.file);
      if (!match?.[1]) return sendError(request, reply, 404, 'Not Found');
      if (match[2]) return serveOriginal(rt, request, reply, match[1]);
      // A legacy client opens its upload's permalink with `?token=` to link its device.
      const { token } = request.query as { token?: unknown };
      if (typeof token === 'string' && (await sendDeviceLink(rt, request, reply, match[1], token)))
        return reply;
      const viewer = await webViewer(rt, request);
      const row = await rt.images.findViewable(match[1], viewer);
      reply.header('Cache-Control', 'no-cache');
      if (!row) {
        return reply.code(404).type('text/html; charset=utf-8').send(permalinkPage.notFound());
      }
      // Its owner, signed in, gets the page that edits it; everyone else the public permalink page.
      const session = await sessionViewer(rt.sessions, request);
      if (session && session.userId === row.user_id) {
        const { done } = request.query as { done?: unknown };
        return sendOwnerImagePage(rt, reply, session, row, typeof done === 'string' ? done : undefined);
      }
      reply.header('Content-Security-Policy', permalinkPage.csp(rt));
      return reply.type('text/html; charset=utf-8').send(permalinkPage.render(rt, row));
    },
  );

  app.get(
    '/:image_id/raw',
    { schema: { ...hidden, params: Type.Object({ image_id: ImageId }) } },
    (request, reply) => serveOriginal(rt, request, reply, request.params.image_id),
  );

  app.get(
    '/thumb/:size/:file',
    {
      schema: {
        ...hidden,
        params: Type.Object({
          size: Type.Integer({ minimum: 1, maximum: 10000 }),
          file: Type.String({ maxLength: 64 }),
        }),
      },
    },
    async (request, reply) => {
      const match = FILE.exec(request.params.file);
      const { size } = request.params;
      const row = match?.[1]
        ? await rt.images.findViewable(match[1], await webViewer(rt, request))
        : undefined;
      if (!row) return imageNotFound(request, reply);
      // An image whose pixels would not decode gets a placeholder (always PNG), never cached for long.
      const thumbEtag = `"${row.blob_key}-t${size}"`;
      if (size === rt.config.thumbSize) {
        const etag = row.decode_error ? '"placeholder"' : thumbEtag;
        if (notModified(request, etag)) return imageHeaders(reply, row, etag, 'png').code(304).send();
      }
      const thumb = await rt.images.readThumbnail(row, size);
      if (!thumb) return imageNotFound(request, reply);
      if (thumb.placeholder) return imageHeaders(reply, row, '"placeholder"', 'png').send(thumb.bytes);
      return imageHeaders(reply, row, thumbEtag).send(thumb.bytes);
    },
  );
}
