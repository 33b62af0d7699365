import { Type } from '@fastify/type-provider-typebox';
import type { Runtime } from '../../runtime.ts';
import { requireUser, tokenFrom } from '../auth.ts';
import { refuseDeclaredOversize } from '../multipart.ts';
import { AccessTokenQuery, errors, security } from '../schemas.ts';
import type { GazoApp } from '../types.ts';
import { receiveUpload } from '../upload-request.ts';

const schema = {
  summary: 'Upload an image',
  description:
    'multipart/form-data with `imagedata` and optional `access_token`, `metadata_is_public`, `referer_url`, ' +
    '`title`, `desc`, `app`, `created_at` (Unix seconds, float seconds or milliseconds), `access_policy`, ' +
    '`collection_id` (ignored). Parts may come in any order. Answers the whole image object.',
  tags: ['images'],
  security,
  consumes: ['multipart/form-data'],
  querystring: Type.Object(AccessTokenQuery),
  response: { 200: Type.Ref('Image'), ...errors(400, 401, 413, 422, 429, 507) },
};

export function uploadRoute(app: GazoApp, rt: Runtime) {
  const onRequest = refuseDeclaredOversize(rt.config.limits.maxUploadBytes);
  app.post('/api/upload', { schema, onRequest }, async (request) => {
    const row = await receiveUpload(rt, request, {
      // A token in the header or query is checked before the body is read, so that a stranger
      // cannot make us store a large upload; a token among the parts is checked after them.
      beforeReading: async () =>
        tokenFrom(request) ? requireUser(rt.accounts, request, 'upload') : undefined,
      owner: async (early, fields) =>
        (early ?? (await requireUser(rt.accounts, request, 'upload', fields))).userId,
    });
    return rt.urls.toWire(row);
  });
}
