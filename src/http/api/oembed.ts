import { Type } from '@fastify/type-provider-typebox';
import type { Runtime } from '../../runtime.ts';
import { notFound } from '../../services/errors.ts';
import { errors, OembedSchema } from '../schemas.ts';
import type { GazoApp } from '../types.ts';

const schema = {
  summary: 'oEmbed for a permalink',
  tags: ['embed'],
  querystring: Type.Object({ url: Type.String({ maxLength: 2048 }) }),
  response: {
    200: OembedSchema,
    ...errors(400, 404),
  },
};

/** The image id of a permalink (or raw URL) on one of our own origins, or undefined. */
function imageIdOf(rt: Runtime, raw: string): string | undefined {
  const { web, image, base } = rt.config.urls;
  for (const originUrl of new Set([web, image, base])) {
    if (!raw.startsWith(`${originUrl}/`)) continue;
    const match = /^([0-9a-f]{32})(?:\.[a-z]{3,4}|\/raw)?$/.exec(
      raw.slice(originUrl.length + 1).split(/[?#]/)[0] ?? '',
    );
    if (match) return match[1];
  }
  return undefined;
}

export function oembedRoute(app: GazoApp, rt: Runtime) {
  app.get('/api/oembed', { schema }, async (request) => {
    const imageId = imageIdOf(rt, request.query.url);
    // Only public images embed: an only_me image is as absent as a missing one.
    const row = imageId ? await rt.images.findViewable(imageId, undefined) : undefined;
    // A missing, repeated or over-long `url` fails the schema (400); any other value that names
    // no public image here, however malformed, is an image that is not there (404, COMPAT.md).
    if (!row) throw notFound('image not found');
    return {
      version: '1.0',
      type: 'photo',
      provider_name: 'Gazo',
      provider_url: rt.config.urls.web,
      url: rt.urls.raw(row.image_id, row.type),
      width: row.width,
      height: row.height,
      ...(row.metadata_is_public && row.title ? { title: row.title } : {}),
    };
  });
}
