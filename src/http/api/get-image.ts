import { Type } from '@fastify/type-provider-typebox';
import type { Runtime } from '../../runtime.ts';
import { requireUser } from '../auth.ts';
import { AccessTokenQuery, errors, ImageId, security } from '../schemas.ts';
import type { GazoApp } from '../types.ts';

const schema = {
  summary: 'Get one of your images',
  tags: ['images'],
  security,
  params: Type.Object({ image_id: ImageId }),
  querystring: Type.Object(AccessTokenQuery),
  response: { 200: Type.Ref('Image'), ...errors(400, 401, 404) },
};

export function getImageRoute(app: GazoApp, rt: Runtime) {
  app.get('/api/images/:image_id', { schema }, async (request) => {
    const user = await requireUser(rt.accounts, request, 'public');
    return rt.urls.toWire(await rt.images.getOwn(user, request.params.image_id));
  });
}
