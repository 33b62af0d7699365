import type { Runtime } from '../../../runtime.ts';
import type { ListedImageRow } from '../../../store/schema.ts';
import { html, type SafeHtml } from '../html.ts';

/** `2026-12-01 09:30 UTC`: the gallery's dates, the same for everyone (the server does not know your zone). */
export const shownDate = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/** What an `<img alt>` says: the owner's alt text, else the title, else when it was uploaded. */
export function altFor(row: Pick<ListedImageRow, 'alt_text' | 'title' | 'created_at'>): string {
  return row.alt_text || row.title || `Image uploaded ${shownDate(Number(row.created_at))}`;
}

/** Markdown that shows the image: `![alt](raw url)`, the brackets in the alt escaped. */
export function markdownFor(alt: string, url: string): string {
  return `![${alt.replace(/[\\[\]]/g, '\\$&').replace(/\s+/g, ' ')}](${url})`;
}

/** The copy buttons need the script (which shows them); without it, Open still works. */
export function copyButtons(rt: Runtime, row: ListedImageRow, about: string): SafeHtml {
  const permalink = rt.urls.permalink(row.image_id);
  const markdown = markdownFor(altFor(row), rt.urls.raw(row.image_id, row.type));
  return html`<button type="button" class="secondary" data-copy="${permalink}" data-copy-label="Link" hidden>Copy link<span class="visually-hidden"> to ${about}</span></button>
<button type="button" class="secondary" data-copy="${markdown}" data-copy-label="Markdown" hidden>Copy Markdown<span class="visually-hidden"> for ${about}</span></button>`;
}

/**
 * Delete, in two steps: this form asks the server for a confirmation page; with the script a
 * dialog asks instead and the deletion is sent with the CSRF header.
 */
export function deleteForm(row: ListedImageRow, csrf: string, label: SafeHtml, cls = ''): SafeHtml {
  return html`<form method="post" action="/${row.image_id}/delete" class="delete-form ${cls}" data-image="${row.image_id}">
<input type="hidden" name="_csrf" value="${csrf}">
<button type="submit" class="danger">${label}</button>
</form>`;
}

/** The script's confirmation (a modal dialog); unused, and never shown, without the script. */
export const deleteDialog = html`<dialog id="delete-dialog" aria-labelledby="delete-dialog-title">
<form method="dialog" class="stack">
<h2 id="delete-dialog-title">Delete this image?</h2>
<p>It is gone for good: its link, its file and its thumbnail stop working.</p>
<div class="row"><button value="delete" class="danger">Delete</button><button value="cancel" class="secondary" autofocus>Cancel</button></div>
</form>
</dialog>
<p id="page-status" class="visually-hidden" role="status" aria-live="polite"></p>`;

/** Fixed messages for `?done=` after a form's redirect (never the query's own text). */
export const NOTICES: Record<string, string> = {
  deleted: 'The image was deleted.',
  saved: 'Saved.',
  settings: 'Who can see it is saved.',
};

export function notice(done: unknown): SafeHtml | '' {
  const text = typeof done === 'string' ? NOTICES[done] : undefined;
  return text ? html`<p class="notice" role="status">${text}</p>` : '';
}
