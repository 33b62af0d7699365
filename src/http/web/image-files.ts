import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IMAGE_TYPES, type ImageType } from '../../imaging/imaging.ts';
import type { Runtime } from '../../runtime.ts';
import type { ImageRow } from '../../store/schema.ts';

import { sendError } from '../errors.ts';
import { ImageId } from '../schemas.ts';
import type { GazoApp } from '../types.ts';
import { sendOwnerImagePage } from './pages/image-owner.ts';
import { permalinkPage } from './permalink-page.ts';
import { sessionViewer } from './session.ts';
import { webViewer } from './viewer.ts';

/** `<image_id>` or `<image_id>.<ext>`; the extension is a hint, the Content-Type comes from the bytes. */
const FILE = /^([0-9a-f]{32})(?:\.(png|jpg|jpeg|gif|webp))?$/;

const hidden = { hide: true };

/**
 * Sends stored image bytes: exact bytes, a strong ETag (content hash), immutable caching for
 * public images, and headers that stop a browser from ever treating them as anything but an image.
 */
function sendImage(
  request: FastifyRequest,
  reply: FastifyReply,
  row: ImageRow,
  bytes: Buffer,
  etag: string,
  type = row.type as ImageType,
) {
  reply.headers({
    'Content-Type': IMAGE_TYPES[type] ?? 'application/octet-stream',
    ETag: etag,
    'Cache-Control':
      row.access_policy === 'anyone' && !row.decode_error
        ? 'public, max-age=31536000, immutable'
        : 'private, no-cache',
    'Content-Security-Policy': "default-src 'none'; sandbox",
    'Cross-Origin-Resource-Policy': 'cross-origin',
    'Content-Disposition': 'inline',
  });
  const inm = request.headers['if-none-match'];
  if (inm?.split(',').some((t) => t.trim() === etag)) return reply.code(304).send();
  return reply.send(bytes);
}

async function serveOriginal(rt: Runtime, request: FastifyRequest, reply: FastifyReply, imageId: string) {
  const row = await rt.images.findViewable(imageId, await webViewer(rt, request));
  const bytes = row && (await rt.images.readOriginal(row));
  if (!row || !bytes) return sendError(request, reply, 404, 'image not found');
  return sendImage(request, reply, row, bytes, `"${row.blob_key}"`);
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
      const row = match?.[1]
        ? await rt.images.findViewable(match[1], await webViewer(rt, request))
        : undefined;
      const thumb = row && (await rt.images.readThumbnail(row, request.params.size));
      if (!row || !thumb) return sendError(request, reply, 404, 'image not found');
      // An image whose pixels would not decode gets a placeholder (always PNG), never cached for long.
      if (thumb.placeholder) return sendImage(request, reply, row, thumb.bytes, '"placeholder"', 'png');
      return sendImage(request, reply, row, thumb.bytes, `"${row.blob_key}-t${request.params.size}"`);
    },
  );
}
