import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../../../runtime.ts';
import type { GazoApp } from '../../types.ts';
import { html } from '../html.ts';
import { sendPage } from '../layout.ts';
import { csrfToken } from '../security.ts';
import { sessionViewer } from '../session.ts';

/**
 * `<permalink>?token=…`, opened by a legacy client for an upload of a device nobody has linked
 * (`--legacy-anonymous-devices`). Signed in, the person is asked to confirm; a plain GET never
 * links, or any site could make a visitor's browser adopt a device whose id the site knows (and
 * then upload into that account). Not signed in: sign in first, then back here. Answers false
 * when the token is no such link (the permalink is then served as usual).
 */
export async function sendDeviceLink(
  rt: Runtime,
  request: FastifyRequest,
  reply: FastifyReply,
  imageId: string,
  token: string,
): Promise<boolean> {
  if (!(await rt.devices.findLink(imageId, token))) return false;
  const viewer = await sessionViewer(rt.sessions, request);
  if (!viewer) {
    await reply.redirect(`/signin?next=${encodeURIComponent(request.url)}`, 302);
    return true;
  }
  const csrf = csrfToken(reply);
  await sendPage(rt, reply, {
    title: 'Link this desktop client',
    viewer,
    csrf,
    section: 'devices',
    body: html`<div class="narrow card stack">
<h1>Link this desktop client?</h1>
<p>A desktop capture client uploaded a screenshot from a device that is not linked to an account yet. Until it is, nobody can see its uploads.</p>
<p>Link it to your account, <strong>${viewer.name}</strong>: this screenshot and the device's other uploads so far become yours, and its next ones go straight to your images. You can revoke it on the <a href="/devices">Devices</a> page.</p>
<form method="post" action="/devices/link" class="row">
<input type="hidden" name="_csrf" value="${csrf}">
<input type="hidden" name="image_id" value="${imageId}">
<input type="hidden" name="token" value="${token}">
<button type="submit">Link this device</button>
<a class="button secondary" href="/">Not now</a>
</form>
<p class="muted">Only link a device you are using yourself: whoever has it can upload into your account.</p>
</div>`,
  });
  return true;
}

export function deviceLinkRoutes(app: GazoApp, rt: Runtime) {
  app.post(
    '/devices/link',
    {
      schema: {
        hide: true,
        body: Type.Object({
          image_id: Type.String({ pattern: '^[0-9a-f]{32}$' }),
          token: Type.String({ maxLength: 128 }),
          _csrf: Type.Optional(Type.String()),
        }),
      },
    },
    async (request, reply) => {
      const viewer = await sessionViewer(rt.sessions, request);
      if (!viewer) return reply.redirect('/signin', 303);
      await rt.devices.link(request.body.image_id, request.body.token, viewer);
      return reply.redirect(rt.urls.permalink(request.body.image_id), 303);
    },
  );
}
