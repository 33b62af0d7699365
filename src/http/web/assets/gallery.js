// My images and the image page: copy buttons, delete with a confirmation dialog (sent with the
// X-CSRF-Token header), and in the gallery the next pages loaded as the "More" link scrolls into
// view. Without this script the links and forms work as they are (the server confirms deletes).
import { wireCopyButtons } from './copy.js';

const csrf = document.querySelector('meta[name=csrf-token]')?.content ?? '';
const status = document.getElementById('page-status');
const dialog = document.getElementById('delete-dialog');
const gallery = document.getElementById('gallery');

function say(message) {
  if (status) status.textContent = message;
}

wireCopyButtons(document, status);

// Delete: the dialog asks; the form is sent only once it says yes.
function confirmDelete() {
  return new Promise((resolve) => {
    dialog.returnValue = '';
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'delete'), { once: true });
    dialog.showModal();
  });
}

async function deleteImage(form) {
  const button = form.querySelector('button');
  if (!(await confirmDelete())) {
    button.focus();
    return;
  }
  button.disabled = true;
  let message = 'The image could not be deleted.';
  try {
    const res = await fetch(form.action, {
      method: 'POST',
      headers: {
        'X-CSRF-Token': csrf,
        Accept: 'application/json',
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: 'confirm=yes',
    });
    if (res.ok) {
      const item = form.closest('li');
      if (!item) {
        // The image page: nothing left to show here.
        window.location.assign('/?done=deleted');
        return;
      }
      const next = item.nextElementSibling ?? item.previousElementSibling;
      item.remove();
      say('The image was deleted.');
      (next?.querySelector('a') ?? document.getElementById('search-q'))?.focus();
      return;
    }
    message = (await res.json().catch(() => ({}))).message ?? message;
  } catch {
    message = 'The server could not be reached: the image was not deleted.';
  }
  button.disabled = false;
  say(message);
  window.alert(message);
}

if (dialog && typeof dialog.showModal === 'function') {
  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.classList.contains('delete-form')) return;
    event.preventDefault();
    deleteImage(form);
  });
}

// Loading more: the next page is the same page the "More" link opens; its items are moved here.
const pager = document.querySelector('.pager');
let loading = false;

async function loadMore() {
  const link = pager?.querySelector('a.more');
  if (!link || loading) return;
  loading = true;
  let loaded = false;
  link.setAttribute('aria-busy', 'true');
  try {
    const res = await fetch(link.href, { headers: { Accept: 'text/html' } });
    if (!res.ok) throw new Error(String(res.status));
    const next = new DOMParser().parseFromString(await res.text(), 'text/html');
    const items = [...next.querySelectorAll('#gallery > li')];
    const seen = new Set([...gallery.children].map((li) => li.id));
    for (const li of items) if (!seen.has(li.id)) gallery.append(document.importNode(li, true));
    wireCopyButtons(gallery, status);
    const nextLink = next.querySelector('.pager a.more');
    if (nextLink) link.href = nextLink.getAttribute('href');
    else pager.remove();
    say(`${items.length} more images loaded.`);
    loaded = true;
  } catch {
    say('More images could not be loaded; the More link still works.');
  } finally {
    link.removeAttribute('aria-busy');
    loading = false;
  }
  // Still in view (a tall screen, a short page): the observer will not fire again by itself.
  if (loaded && pager.isConnected && pager.getBoundingClientRect().top < window.innerHeight + 400) loadMore();
}

if (pager && gallery) {
  pager.addEventListener('click', (event) => {
    if (!event.target.closest('a.more')) return;
    event.preventDefault();
    loadMore();
  });
  if ('IntersectionObserver' in window) {
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) loadMore();
      },
      { rootMargin: '400px 0px' },
    );
    observer.observe(pager);
  }
}
