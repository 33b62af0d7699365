import { Type } from '@fastify/type-provider-typebox';
import type { Runtime } from '../../../runtime.ts';
import type { GazoApp } from '../../types.ts';
import { sessionViewer } from '../session.ts';

/**
 * `GET /api/upload/<token>`: the link easy_auth answers with. It is opened in a browser, maybe
 * from a page on another site, so it lives with the pages (it needs the session cookie, which the
 * API group never reads). Signed in: the image becomes the user's and the browser goes to its
 * permalink (302, as clients expect: they read the image id from where they end up). Not signed
 * in: to the sign-in page, which comes back here. Unknown, spent or expired: an error page.
 */
export function easyAuthClaimRoutes(app: GazoApp, rt: Runtime) {
  app.get(
    '/api/upload/:token',
    { schema: { hide: true, params: Type.Object({ token: Type.String({ maxLength: 128 }) }) } },
    async (request, reply) => {
      const viewer = await sessionViewer(rt.sessions, request);
      const outcome = await rt.easyAuth.open(request.params.token, viewer);
      reply.header('Cache-Control', 'no-store');
      if ('image' in outcome) return reply.redirect(rt.urls.permalink(outcome.image.image_id), 302);
      return reply.redirect(`/signin?next=${encodeURIComponent(request.url)}`, 302);
    },
  );
}
