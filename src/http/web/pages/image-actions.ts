import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../../../runtime.ts';
import { notFound } from '../../../services/errors.ts';
import type { Principal } from '../../../services/principal.ts';
import { ImageId } from '../../schemas.ts';
import type { GazoApp } from '../../types.ts';
import { wantsJson } from '../errors.ts';
import { html } from '../html.ts';
import { sendPage } from '../layout.ts';
import { csrfToken } from '../security.ts';
import { sessionViewer } from '../session.ts';
import { altFor } from './image-bits.ts';

const Params = Type.Object({ image_id: ImageId });
/** Text fields: the service checks them as an upload's; this only bounds what is parsed. */
const Text = Type.String({ maxLength: 64 * 1024 });
const Csrf = Type.Optional(Type.String({ maxLength: 512 }));

/** The signed-in user, or a 404 like any image they may not touch (a visitor learns nothing). */
async function owner(rt: Runtime, request: FastifyRequest): Promise<Principal> {
  const viewer = await sessionViewer(rt.sessions, request);
  if (!viewer) throw notFound('image not found');
  return viewer;
}

/**
 * The owner's forms on an image: edit its text, who may see it, delete it. Every one needs the
 * session and the CSRF token (the group's preHandler checks `_csrf` or X-CSRF-Token), and acts
 * only on the caller's own image: anyone else's is "not found", as in the API.
 */
export function imageActionRoutes(app: GazoApp, rt: Runtime) {
  app.post(
    '/:image_id/edit',
    {
      schema: {
        hide: true,
        params: Params,
        body: Type.Object({ _csrf: Csrf, title: Text, desc: Text, alt_text: Text }),
      },
    },
    async (request, reply) => {
      const viewer = await owner(rt, request);
      const { title, desc, alt_text } = request.body;
      const row = await rt.images.edit(viewer, request.params.image_id, { title, desc, altText: alt_text });
      if (wantsJson(request)) return rt.urls.toWire(row);
      return reply.redirect(`/${row.image_id}?done=saved`, 303);
    },
  );

  app.post(
    '/:image_id/settings',
    {
      schema: {
        hide: true,
        params: Params,
        body: Type.Object({
          _csrf: Csrf,
          access_policy: Type.Union([Type.Literal('anyone'), Type.Literal('only_me')]),
          // A checkbox: sent when ticked, absent when not.
          metadata_is_public: Type.Optional(Type.Literal('true')),
        }),
      },
    },
    async (request, reply) => {
      const viewer = await owner(rt, request);
      const row = await rt.images.updateSettings(viewer, request.params.image_id, {
        accessPolicy: request.body.access_policy,
        metadataIsPublic: request.body.metadata_is_public === 'true',
      });
      if (wantsJson(request)) return rt.urls.toWire(row);
      return reply.redirect(`/${row.image_id}?done=settings`, 303);
    },
  );

  // Without the script, the delete button lands here first and the page asks to confirm.
  const confirmPage = async (
    request: FastifyRequest<{ Params: { image_id: string } }>,
    reply: FastifyReply,
  ) => {
    const viewer = await owner(rt, request);
    const row = await rt.images.getOwn(viewer, request.params.image_id);
    const csrf = csrfToken(reply);
    return sendPage(rt, reply, {
      title: 'Delete this image?',
      viewer,
      csrf,
      section: 'images',
      body: html`<div class="narrow card stack">
<h1>Delete this image?</h1>
<img class="confirm-thumb" src="${rt.urls.thumb(row.image_id, row.type)}" alt="${altFor(row)}">
<p>It is gone for good: its link, its file and its thumbnail stop working.</p>
<form method="post" action="/${row.image_id}/delete" class="row">
<input type="hidden" name="_csrf" value="${csrf}">
<input type="hidden" name="confirm" value="yes">
<button type="submit" class="danger">Delete</button>
<a class="button secondary" href="/${row.image_id}">Cancel</a>
</form>
</div>`,
    });
  };

  app.get('/:image_id/delete', { schema: { hide: true, params: Params } }, (request, reply) =>
    confirmPage(request, reply),
  );

  app.post(
    '/:image_id/delete',
    {
      schema: {
        hide: true,
        params: Params,
        body: Type.Optional(Type.Object({ _csrf: Csrf, confirm: Type.Optional(Type.Literal('yes')) })),
      },
    },
    async (request, reply) => {
      if (request.body?.confirm !== 'yes') return confirmPage(request, reply);
      const viewer = await owner(rt, request);
      const row = await rt.images.delete(viewer, request.params.image_id);
      rt.worker.nudge();
      if (wantsJson(request)) return rt.urls.toWire(row);
      return reply.redirect('/?done=deleted', 303);
    },
  );
}
