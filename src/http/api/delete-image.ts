import { Type } from '@fastify/type-provider-typebox';
import type { Runtime } from '../../runtime.ts';
import { requireUser } from '../auth.ts';
import { AccessTokenQuery, errors, ImageId, security } from '../schemas.ts';
import type { GazoApp } from '../types.ts';

const schema = {
  summary: 'Delete one of your images',
  description: 'Answers 200 with the deleted image object (a superset of the documented shape).',
  tags: ['images'],
  security,
  params: Type.Object({ image_id: ImageId }),
  querystring: Type.Object(AccessTokenQuery),
  response: { 200: Type.Ref('Image'), ...errors(400, 401, 404) },
};

export function deleteImageRoute(app: GazoApp, rt: Runtime) {
  app.delete('/api/images/:image_id', { schema }, async (request) => {
    const user = await requireUser(rt.accounts, request, 'public');
    const row = await rt.images.delete(user, request.params.image_id);
    rt.worker.nudge();
    return rt.urls.toWire(row);
  });
}
