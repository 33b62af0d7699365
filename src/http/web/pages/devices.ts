import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../../../runtime.ts';
import type { Principal } from '../../../services/principal.ts';
import type { DeviceRow } from '../../../store/schema.ts';
import type { GazoApp } from '../../types.ts';
import { html, type SafeHtml } from '../html.ts';
import { sendPage } from '../layout.ts';
import { csrfToken } from '../security.ts';
import { sessionViewer } from '../session.ts';

const when = (ms: number | null) =>
  ms === null
    ? html`<span class="muted">never</span>`
    : html`<time datetime="${new Date(ms).toISOString()}">${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC</time>`;

/** What Gyazo for Linux reads from `~/.gyazo.config.yml` to reach this server's upload origin. */
function clientConfig(rt: Runtime): string {
  const url = new URL(rt.config.urls.upload);
  const ssl = url.protocol === 'https:';
  const port = url.port || (ssl ? '443' : '80');
  const cgi = `${url.pathname.replace(/\/$/, '')}/upload.cgi`;
  return `host: ${url.hostname}\nhttp_port: ${port}\nuse_ssl: ${ssl}\n${cgi === '/upload.cgi' ? '' : `cgi: ${cgi}\n`}`;
}

function deviceTable(devices: DeviceRow[], csrf: string): SafeHtml {
  if (devices.length === 0) return html`<p class="muted">No device ids yet.</p>`;
  return html`<div class="table-wrap"><table>
<caption class="visually-hidden">Your device ids</caption>
<thead><tr><th scope="col">Device id</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
<tbody>${devices.map(
    (
      d,
    ) => html`<tr><td><code>${d.device_prefix}…</code></td><td>${when(d.created_at)}</td><td>${when(d.last_used_at)}</td>
<td><form method="post" action="/devices/${d.id}/revoke"><input type="hidden" name="_csrf" value="${csrf}">
<button type="submit" class="danger" aria-label="Revoke device ${d.device_prefix}…">Revoke</button></form></td></tr>`,
  )}</tbody></table></div>`;
}

/**
 * `/devices`: the signed-in user's device ids for legacy desktop clients (Gyazo for Linux and
 * its kin, which post to upload.cgi): make one (shown once: only its hash is kept), see each by
 * its first characters with when it was made and last used, and revoke it.
 */
export function devicesRoutes(app: GazoApp, rt: Runtime) {
  const page = async (
    _request: FastifyRequest,
    reply: FastifyReply,
    viewer: Principal,
    extra: { created?: string; notice?: string } = {},
  ) => {
    const csrf = csrfToken(reply);
    const devices = await rt.devices.list(viewer);
    const created = extra.created;
    return sendPage(rt, reply, {
      title: 'Devices',
      viewer,
      csrf,
      section: 'devices',
      body: html`<h1>Devices</h1>
<p>Desktop capture clients that speak Gyazo's old protocol (Gyazo for Linux among them) sign in with a device id that they keep in <code>~/.gyazo.id</code>.</p>
${extra.notice ? html`<p class="notice" role="status">${extra.notice}</p>` : ''}
${
  created
    ? html`<section class="card stack devices-new" aria-labelledby="new-device-title">
<h2 id="new-device-title">Your new device id</h2>
<p>Copy it now: it is shown only this once.</p>
<pre><code id="new-device-id">${created}</code></pre>
<p>Put it where the client reads it:</p>
<pre><code>printf '%s' '${created}' &gt; ~/.gyazo.id</code></pre>
</section>`
    : ''
}
<section aria-labelledby="your-devices-title">
<h2 id="your-devices-title">Your device ids</h2>
${deviceTable(devices, csrf)}
<form method="post" action="/devices" class="devices-create"><input type="hidden" name="_csrf" value="${csrf}">
<button type="submit">Create a device id</button></form>
</section>
<section class="stack" aria-labelledby="linux-title">
<h2 id="linux-title">Setting up Gyazo for Linux</h2>
<ol class="stack">
<li>Create a device id above and save it in <code>~/.gyazo.id</code> (the file holds the id alone).</li>
<li>Point the client at this server in <code>~/.gyazo.config.yml</code>:
<pre><code>${clientConfig(rt)}</code></pre></li>
<li>Take a screenshot: the client uploads it and opens its page here.</li>
</ol>
${
  rt.devices.anonymousEnabled
    ? html`<p class="muted">This server also accepts clients without a device id: the first upload makes one, and opening the page the client shows, while signed in, lets you link that device to your account.</p>`
    : ''
}
<p class="muted">Revoking a device id stops it at once; images it uploaded stay yours.</p>
</section>`,
    });
  };

  const requireViewer = async (request: FastifyRequest, reply: FastifyReply) => {
    const viewer = await sessionViewer(rt.sessions, request);
    if (!viewer) reply.redirect(`/signin?next=${encodeURIComponent('/devices')}`, 303);
    return viewer;
  };

  app.get(
    '/devices',
    {
      schema: {
        hide: true,
        querystring: Type.Object({ revoked: Type.Optional(Type.String({ maxLength: 8 })) }),
      },
    },
    async (request, reply) => {
      const viewer = await requireViewer(request, reply);
      if (!viewer) return reply;
      return page(
        request,
        reply,
        viewer,
        request.query.revoked ? { notice: 'The device id was revoked.' } : {},
      );
    },
  );

  app.post('/devices', { schema: { hide: true } }, async (request, reply) => {
    const viewer = await requireViewer(request, reply);
    if (!viewer) return reply;
    const { deviceId } = await rt.devices.create(viewer);
    // Answered with the page itself, never a redirect: the id must not sit in a URL or history.
    return page(request, reply, viewer, { created: deviceId });
  });

  app.post(
    '/devices/:id/revoke',
    { schema: { hide: true, params: Type.Object({ id: Type.Integer({ minimum: 1 }) }) } },
    async (request, reply) => {
      const viewer = await requireViewer(request, reply);
      if (!viewer) return reply;
      await rt.devices.revoke(viewer, request.params.id);
      return reply.redirect('/devices?revoked=1', 303);
    },
  );
}
