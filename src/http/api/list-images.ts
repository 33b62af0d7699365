import { Type } from '@fastify/type-provider-typebox';
import type { Runtime } from '../../runtime.ts';
import { wireImagesJson } from '../../services/wire-json.ts';
import { requireUser } from '../auth.ts';
import { ListPageCache } from '../list-page-cache.ts';
import { AccessTokenQuery, errors, security } from '../schemas.ts';
import type { GazoApp } from '../types.ts';

export const USER_TYPE = 'ninja';

const schema = {
  summary: "List the user's images, newest first",
  tags: ['images'],
  security,
  querystring: Type.Object({
    ...AccessTokenQuery,
    page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
    per_page: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  }),
  response: { 200: Type.Array(Type.Ref('Image')), ...errors(400, 401) },
};

export function listImagesRoute(app: GazoApp, rt: Runtime) {
  const cache = new ListPageCache();
  app.get('/api/images', { schema }, async (request, reply) => {
    const user = await requireUser(rt.accounts, request, 'public');
    const { page, per_page } = request.query;
    const key = ListPageCache.key(user.userId, user.imagesVersion, page, per_page);
    let body = cache.get(key);
    if (body === undefined) {
      const { rows } = await rt.images.list(user, page, per_page);
      body = wireImagesJson(rt.urls, rows);
      if (cache.admit(key)) cache.set(key, body);
    }
    reply.headers({
      'X-Total-Count': String(user.imageCount),
      'X-Current-Page': String(page),
      'X-Per-Page': String(per_page),
      'X-User-Type': USER_TYPE,
    });
    // Already JSON: a string is sent as it is, not serialised again.
    return reply.type('application/json; charset=utf-8').send(body as never);
  });
}
