import { Type } from '@fastify/type-provider-typebox';
import type { Runtime } from '../../runtime.ts';
import type { GazoApp } from '../app.ts';
import { requireUser } from '../auth.ts';
import { AccessTokenQuery, errors, security } from '../schemas.ts';

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
  app.get('/api/images', { schema }, async (request, reply) => {
    const user = await requireUser(rt.accounts, request);
    const { page, per_page } = request.query;
    const { rows, total } = await rt.images.list(user, page, per_page);
    reply.headers({
      'X-Total-Count': String(total),
      'X-Current-Page': String(page),
      'X-Per-Page': String(per_page),
      'X-User-Type': USER_TYPE,
    });
    return rows.map((row) => rt.urls.toWire(row));
  });
}
