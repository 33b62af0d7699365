import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Runtime } from '../../../runtime.ts';
import { ServiceError } from '../../../services/errors.ts';
import { MAX_SEARCH_QUERY } from '../../../services/images.service.ts';
import type { Principal } from '../../../services/principal.ts';
import type { ListedImageRow } from '../../../store/schema.ts';
import type { GazoApp } from '../../types.ts';
import { html, type SafeHtml } from '../html.ts';
import { sendPage } from '../layout.ts';
import { csrfToken } from '../security.ts';
import { sessionViewer } from '../session.ts';
import { altFor, copyButtons, deleteDialog, deleteForm, notice, shownDate } from './image-bits.ts';

export const PER_PAGE = 30;

export const GalleryQuery = Type.Object({
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
  q: Type.Optional(Type.String({ maxLength: MAX_SEARCH_QUERY * 4 })),
  done: Type.Optional(Type.String({ maxLength: 32 })),
});
export interface GalleryParams {
  page: number;
  q?: string;
  done?: string;
}

function item(rt: Runtime, row: ListedImageRow, csrf: string): SafeHtml {
  const when = shownDate(Number(row.created_at));
  const about = row.title ? `“${row.title}”` : `the image of ${when}`;
  return html`<li id="image-${row.image_id}">
<a class="thumb" href="/${row.image_id}"><img src="${rt.urls.thumb(row.image_id, row.type)}" alt="${altFor(row)}" loading="lazy"></a>
<div class="meta">${row.title ? html`<span class="title" dir="auto">${row.title}</span>` : ''}
<span class="muted"><time datetime="${new Date(Number(row.created_at)).toISOString()}">${when}</time>${row.access_policy === 'only_me' ? html` · <span class="badge">Only me</span>` : ''}</span></div>
<div class="actions">
<div class="copy">${copyButtons(rt, row, about)}</div>
<div class="open-delete"><a href="/${row.image_id}">Open<span class="visually-hidden"> ${about}</span></a>
${deleteForm(row, csrf, html`Delete<span class="visually-hidden"> ${about}</span>`)}</div>
</div></li>`;
}

/**
 * The signed-in user's images, newest first, or those matching `q` (the API's search): one page
 * rendered here, a "More" link to the next (gallery.js loads it as you scroll).
 */
export async function sendMyImages(
  rt: Runtime,
  reply: FastifyReply,
  viewer: Principal,
  csrf: string,
  params: GalleryParams = { page: 1 },
) {
  const q = params.q?.trim() ?? '';
  const { page } = params;
  let rows: ListedImageRow[] = [];
  let total = 0;
  let totalIsExact = true;
  let error: string | undefined;
  try {
    if (q) ({ rows, total, totalIsExact } = await rt.images.search(viewer, q, page, PER_PAGE));
    else ({ rows, total } = await rt.images.list(viewer, page, PER_PAGE));
  } catch (err) {
    // A search the language cannot read is said next to the box, not on an error page.
    if (!(err instanceof ServiceError) || err.status !== 400) throw err;
    error = err.message;
  }
  const base = q ? `/search?q=${encodeURIComponent(q)}&` : '/?';
  const more = page * PER_PAGE < total ? `${base}page=${page + 1}` : undefined;
  const heading = q ? 'Search results' : 'My images';
  const summary = q
    ? `${totalIsExact ? '' : 'More than '}${total.toLocaleString('en')} ${total === 1 ? 'image matches' : 'images match'} “${q}”`
    : `${total} ${total === 1 ? 'image' : 'images'}`;
  const empty = q
    ? html`<p>Nothing matches “${q}”. <a href="/">See all your images</a>.</p>`
    : html`<p>No images yet. <a href="/upload">Upload one</a>.</p>`;
  return sendPage(rt, reply, {
    title: q ? `Search: ${q}` : 'My images',
    viewer,
    csrf,
    section: 'images',
    scripts: ['gallery.js'],
    body: html`<div class="gallery-head">
<h1>${heading}</h1>
<form method="get" action="/search" role="search" class="search-form">
<label for="search-q" class="visually-hidden">Search your images</label>
<input type="search" id="search-q" name="q" value="${q}" placeholder="Search title, description, text…" maxlength="${MAX_SEARCH_QUERY}" aria-describedby="search-help"${error ? html` aria-invalid="true"` : ''}>
<button type="submit">Search</button>
</form>
</div>
<p id="search-help" class="muted search-help">${error ? html`<span class="error">${error}</span>` : html`Words, "phrases", title:, desc:, app:, url:, alt:, since:YYYY-MM-DD, until:YYYY-MM-DD.`}</p>
${notice(params.done)}
${error || (total === 0 && !q) ? '' : html`<p class="muted">${summary}${page > 1 ? html` · page ${page}` : ''}${q ? html` · <a href="/">Clear the search</a>` : ''}</p>`}
${rows.length === 0 ? (error ? '' : page === 1 ? empty : html`<p>No more images. <a href="${base}page=1">Back to the first page</a>.</p>`) : html`<ul class="gallery" id="gallery">${rows.map((row) => item(rt, row, csrf))}</ul>`}
${more ? html`<div class="pager"><a class="button secondary more" rel="next" href="${more}">More</a></div>` : ''}
${deleteDialog}`,
  });
}

export function myImagesRoutes(app: GazoApp, rt: Runtime) {
  // `/?q=` (home.ts) and `/search?q=` are the same page; the search box posts here.
  app.get('/search', { schema: { hide: true, querystring: GalleryQuery } }, async (request, reply) => {
    const viewer = await sessionViewer(rt.sessions, request);
    if (!viewer) return reply.redirect(`/signin?next=${encodeURIComponent(request.url)}`, 303);
    return sendMyImages(rt, reply, viewer, csrfToken(reply), request.query);
  });
}
