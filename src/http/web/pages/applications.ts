import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../../../runtime.ts';
import { ServiceError } from '../../../services/errors.ts';
import type { Principal } from '../../../services/principal.ts';
import type { GazoApp } from '../../types.ts';
import { sendPage } from '../layout.ts';
import { csrfToken } from '../security.ts';
import { sessionViewer } from '../session.ts';
import { type ApplicationsView, applicationsBody } from './applications-view.ts';

const NOTICES: Record<string, string> = {
  'app-deleted': 'The application is deleted, and every token granted to it revoked.',
  'token-revoked': 'The token is revoked.',
};

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
const Csrf = { _csrf: Type.Optional(Type.String()) };

/**
 * The ShareX custom uploader (.sxcu) for this server. `$json:…$` is the syntax ShareX 13.7 and
 * older wrote; ShareX converts it when the file's Version is 13.7.1 or less, so the version says 13.7.0.
 */
export function sharexUploader(rt: Runtime, token: string) {
  return {
    Version: '13.7.0',
    Name: `Gazo (${new URL(rt.config.urls.upload).host})`,
    DestinationType: 'ImageUploader',
    RequestMethod: 'POST',
    RequestURL: `${rt.config.urls.upload}/api/upload`,
    Parameters: { access_token: token },
    Body: 'MultipartFormData',
    FileFormName: 'imagedata',
    URL: '$json:permalink_url$',
    ThumbnailURL: '$json:thumb_url$',
    ErrorMessage: '$json:message$',
  };
}

/**
 * `/applications`: the user's OAuth applications (register, new secret, delete), their access
 * tokens (create, list with app and last use, revoke) and a ShareX uploader with a new token.
 */
export function applicationsRoutes(app: GazoApp, rt: Runtime) {
  async function viewerOf(request: FastifyRequest, reply: FastifyReply): Promise<Principal | undefined> {
    const viewer = await sessionViewer(rt.sessions, request);
    if (!viewer) {
      const next = request.method === 'GET' ? request.url : '/applications';
      reply.redirect(`/signin?next=${encodeURIComponent(next)}`, 303);
    }
    return viewer;
  }

  async function render(
    reply: FastifyReply,
    viewer: Principal,
    extra: Partial<ApplicationsView> = {},
    status = 200,
  ) {
    const [apps, tokens] = await Promise.all([
      rt.oauth.listApps(viewer.userId),
      rt.oauth.listTokens(viewer.userId),
    ]);
    const csrf = csrfToken(reply);
    return sendPage(
      rt,
      reply,
      {
        title: 'Applications',
        viewer,
        csrf,
        section: 'applications',
        scripts: ['confirm.js'],
        body: applicationsBody({ csrf, apps, tokens, ...extra }),
      },
      status,
    );
  }

  app.get(
    '/applications',
    {
      schema: {
        hide: true,
        querystring: Type.Object({ done: Type.Optional(Type.String({ maxLength: 32 })) }),
      },
    },
    async (request, reply) => {
      const viewer = await viewerOf(request, reply);
      if (!viewer) return reply;
      return render(reply, viewer, { notice: NOTICES[request.query.done ?? ''] });
    },
  );

  app.post(
    '/applications/apps',
    {
      schema: {
        hide: true,
        body: Type.Object({
          name: Type.String({ maxLength: 1000 }),
          redirect_uris: Type.String({ maxLength: 30_000 }),
          ...Csrf,
        }),
      },
    },
    async (request, reply) => {
      const viewer = await viewerOf(request, reply);
      if (!viewer) return reply;
      const { name, redirect_uris } = request.body;
      try {
        const { app: created, clientSecret } = await rt.oauth.createApp(
          viewer.userId,
          name,
          redirect_uris.split(/\r?\n/),
        );
        return render(reply, viewer, {
          revealed: {
            title: `${created.name} is registered`,
            rows: [
              ['Client ID', created.client_id],
              ['Client secret', clientSecret],
            ],
            note: 'Copy the secret now: it is shown only this once (only a hash of it is kept).',
          },
        });
      } catch (err) {
        if (!(err instanceof ServiceError) || err.status !== 400) throw err;
        return render(
          reply,
          viewer,
          { error: err.message, draft: { name, redirectUris: redirect_uris } },
          400,
        );
      }
    },
  );

  app.post(
    '/applications/apps/:id/secret',
    { schema: { hide: true, params: IdParams, body: Type.Object(Csrf) } },
    async (request, reply) => {
      const viewer = await viewerOf(request, reply);
      if (!viewer) return reply;
      const secret = await rt.oauth.newSecret(viewer.userId, request.params.id);
      const changed = (await rt.oauth.listApps(viewer.userId)).find((a) => a.id === request.params.id);
      return render(reply, viewer, {
        revealed: {
          title: `A new secret for ${changed?.name ?? 'the application'}`,
          rows: [
            ['Client ID', changed?.client_id ?? ''],
            ['Client secret', secret],
          ],
          note: 'The old secret no longer works. Copy this one now: it is shown only this once.',
        },
      });
    },
  );

  app.post(
    '/applications/apps/:id/delete',
    { schema: { hide: true, params: IdParams, body: Type.Object(Csrf) } },
    async (request, reply) => {
      const viewer = await viewerOf(request, reply);
      if (!viewer) return reply;
      await rt.oauth.deleteApp(viewer.userId, request.params.id);
      return reply.redirect('/applications?done=app-deleted', 303);
    },
  );

  app.post(
    '/applications/tokens',
    {
      schema: {
        hide: true,
        body: Type.Object({ name: Type.Optional(Type.String({ maxLength: 1000 })), ...Csrf }),
      },
    },
    async (request, reply) => {
      const viewer = await viewerOf(request, reply);
      if (!viewer) return reply;
      const token = await rt.oauth.createPersonalToken(viewer, request.body.name ?? '');
      return render(reply, viewer, {
        revealed: {
          title: 'Your new access token',
          rows: [['Access token', token]],
          note: 'Copy it now: it is shown only this once. It may upload and read, edit and delete your images.',
        },
      });
    },
  );

  app.post(
    '/applications/tokens/:id/revoke',
    { schema: { hide: true, params: IdParams, body: Type.Object(Csrf) } },
    async (request, reply) => {
      const viewer = await viewerOf(request, reply);
      if (!viewer) return reply;
      await rt.oauth.revokeToken(viewer.userId, request.params.id);
      return reply.redirect('/applications?done=token-revoked', 303);
    },
  );

  app.post(
    '/applications/sharex',
    { schema: { hide: true, body: Type.Object(Csrf) } },
    async (request, reply) => {
      const viewer = await viewerOf(request, reply);
      if (!viewer) return reply;
      const token = await rt.oauth.createPersonalToken(viewer, 'ShareX');
      const host = new URL(rt.config.urls.upload).host.replace(/[^\w.-]+/g, '-');
      return reply
        .header('Content-Disposition', `attachment; filename="gazo-${host}.sxcu"`)
        .header('Cache-Control', 'no-store')
        .type('application/json; charset=utf-8')
        .send(`${JSON.stringify(sharexUploader(rt, token), null, 2)}\n`);
    },
  );
}
