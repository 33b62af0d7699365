import { Type } from '@fastify/type-provider-typebox';
import type { Runtime } from '../../runtime.ts';
import { requireUser } from '../auth.ts';
import { AccessTokenQuery, errors, security, UserMeSchema } from '../schemas.ts';
import type { GazoApp } from '../types.ts';

const schema = {
  summary: 'The user the token belongs to',
  tags: ['users'],
  security,
  querystring: Type.Object(AccessTokenQuery),
  response: {
    200: UserMeSchema,
    ...errors(401),
  },
};

export function usersMeRoute(app: GazoApp, rt: Runtime) {
  app.get('/api/users/me', { schema }, async (request) => {
    const user = await requireUser(rt.accounts, request, 'public');
    return { user: { email: user.email ?? '', name: user.name, profile_image: '', uid: user.uid } };
  });
}
