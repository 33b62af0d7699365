import type { FastifyReply } from 'fastify';
import type { Runtime } from '../../../runtime.ts';
import type { Principal } from '../../../services/principal.ts';
import { html } from '../html.ts';
import { sendPage } from '../layout.ts';

const PER_PAGE = 40;

/** The signed-in user's front page: their images, newest first. */
export async function sendMyImages(rt: Runtime, reply: FastifyReply, viewer: Principal, csrf: string) {
  const { rows } = await rt.images.list(viewer, 1, PER_PAGE);
  const items = rows.map((row) => {
    const wire = rt.urls.toWire(row);
    return html`<li><a class="thumb" href="${wire.permalink_url}"><img src="${wire.thumb_url}" alt="${row.title ?? ''}" loading="lazy"></a>
<div class="meta muted"><time datetime="${new Date(row.created_at).toISOString()}">${new Date(row.created_at).toISOString().slice(0, 16).replace('T', ' ')}</time></div></li>`;
  });
  return sendPage(rt, reply, {
    title: 'My images',
    viewer,
    csrf,
    section: 'images',
    body: html`<h1>My images</h1>
${rows.length === 0 ? html`<p class="muted">No images yet. <a href="/upload">Upload one</a>.</p>` : html`<ul class="gallery">${items}</ul>`}`,
  });
}
