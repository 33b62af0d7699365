import type { FastifyReply } from 'fastify';
import type { Runtime } from '../../../runtime.ts';
import type { Principal } from '../../../services/principal.ts';
import { MAX_TEXT_FIELD } from '../../../services/upload-fields.ts';
import type { ImageRow } from '../../../store/schema.ts';
import { html } from '../html.ts';
import { sendPage } from '../layout.ts';
import { csrfToken } from '../security.ts';
import { altFor, copyButtons, deleteDialog, deleteForm, notice, shownDate } from './image-bits.ts';

const checked = (on: boolean) => (on ? html` checked` : '');

/**
 * `/<image_id>` for its owner, signed in: the image (only_me too: the session loads its file),
 * and below it the forms that edit its text, switch who may see it, and delete it.
 */
export function sendOwnerImagePage(
  rt: Runtime,
  reply: FastifyReply,
  viewer: Principal,
  row: ImageRow,
  done?: string,
) {
  const csrf = csrfToken(reply);
  const id = row.image_id;
  const raw = rt.urls.raw(id, row.type);
  const title = row.title || 'Untitled image';
  const onlyMe = row.access_policy === 'only_me';
  return sendPage(rt, reply, {
    title,
    viewer,
    csrf,
    section: 'images',
    scripts: ['gallery.js'],
    body: html`<div class="owner-image">
<div class="image-view"><a href="${raw}"><img src="${raw}" width="${row.width}" height="${row.height}" alt="${altFor(row)}"></a></div>
<div class="owner-head">
<h1 dir="auto">${title}</h1>
${notice(done)}
<p class="muted"><time datetime="${new Date(Number(row.created_at)).toISOString()}">${shownDate(Number(row.created_at))}</time> · ${row.width} × ${row.height} ${row.type.toUpperCase()} · <span class="badge">${onlyMe ? 'Only me' : 'Anyone with the link'}</span></p>
<div class="row">${copyButtons(rt, row, 'this image')}<a href="${raw}">Open the file</a></div>
</div>
<div class="owner-forms">
<form method="post" action="/${id}/edit" class="card" aria-labelledby="details-title">
<h2 id="details-title">Details</h2>
<input type="hidden" name="_csrf" value="${csrf}">
<div class="field"><label for="edit-title">Title</label>
<input type="text" id="edit-title" name="title" value="${row.title ?? ''}" dir="auto" maxlength="${MAX_TEXT_FIELD}"></div>
<div class="field"><label for="edit-desc">Description</label>
<textarea id="edit-desc" name="desc" dir="auto" maxlength="${MAX_TEXT_FIELD}">${row.desc}</textarea></div>
<div class="field"><label for="edit-alt">Alt text</label>
<textarea id="edit-alt" name="alt_text" dir="auto" maxlength="${MAX_TEXT_FIELD}" aria-describedby="edit-alt-hint">${row.alt_text}</textarea>
<p class="hint" id="edit-alt-hint">What the image shows, for people who cannot see it. Screen readers read it out.</p></div>
<button type="submit">Save details</button>
</form>
<form method="post" action="/${id}/settings" class="card" aria-labelledby="sharing-title">
<h2 id="sharing-title">Who can see it</h2>
<input type="hidden" name="_csrf" value="${csrf}">
<fieldset class="field"><legend>The image</legend>
<label class="checkbox"><input type="radio" name="access_policy" value="anyone"${checked(!onlyMe)}> Anyone with the link</label>
<label class="checkbox"><input type="radio" name="access_policy" value="only_me"${checked(onlyMe)}> Only me</label>
</fieldset>
<div class="field"><label class="checkbox"><input type="checkbox" name="metadata_is_public" value="true"${checked(row.metadata_is_public)}> Show the title, description and source on the public page</label></div>
<button type="submit">Save who can see it</button>
</form>
<section class="card" aria-labelledby="delete-title">
<h2 id="delete-title">Delete</h2>
<p>The image, its link and its thumbnail go for good.</p>
${deleteForm(row, csrf, html`Delete this image`)}
</section>
</div>
</div>
${deleteDialog}`,
  });
}
