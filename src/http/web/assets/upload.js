// The upload page: files dropped, pasted (Ctrl+V anywhere) or picked are sent one request each to
// POST /upload with the session and the X-CSRF-Token header, each with its own progress bar.
// Without this script the form posts the one chosen file and the server redirects to its page.
import { markdownFor, wireCopyButtons } from './copy.js';

const form = document.getElementById('upload-form');
const input = document.getElementById('upload-file');
const results = document.getElementById('upload-results');
const status = document.getElementById('upload-status');
const csrf = document.querySelector('meta[name=csrf-token]')?.content ?? '';

input.multiple = true;
input.required = false;
document.getElementById('upload-submit').hidden = true;
form.querySelector('.upload-how').textContent =
  'Drop images here, paste one with Ctrl+V anywhere on this page, or choose files: each is uploaded at once.';

function element(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function upload(file) {
  const name = file.name || 'pasted image';
  const progress = element('progress', { max: 100, value: 0 });
  progress.setAttribute('aria-label', `Uploading ${name}`);
  const state = element('span', { className: 'muted', textContent: 'Uploading…' });
  const body = element('div', { className: 'upload-body' }, [
    element('div', { className: 'upload-name', textContent: name }),
    progress,
    state,
  ]);
  const item = element('li', { className: 'upload card' }, [body]);
  results.prepend(item);

  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/upload');
  xhr.setRequestHeader('X-CSRF-Token', csrf);
  xhr.setRequestHeader('Accept', 'application/json');
  xhr.responseType = 'json';
  xhr.upload.addEventListener('progress', (event) => {
    if (event.lengthComputable) progress.value = Math.round((event.loaded / event.total) * 100);
  });
  xhr.addEventListener('load', () => {
    const answer = xhr.response;
    if (xhr.status === 200 && answer?.permalink_url) return done(item, body, progress, state, name, answer);
    failed(item, state, name, answer?.message || `The server answered ${xhr.status}.`);
  });
  xhr.addEventListener('error', () => failed(item, state, name, 'The upload did not reach the server.'));
  const data = new FormData();
  data.append('imagedata', file, name);
  xhr.send(data);
}

function done(item, body, progress, state, name, image) {
  progress.value = 100;
  state.textContent = 'Uploaded.';
  state.className = 'notice';
  const id = `link-${image.image_id}`;
  const link = element('input', { type: 'text', readOnly: true, value: image.permalink_url, id });
  link.addEventListener('focus', () => link.select());
  const alt = image.alt_text || image.metadata?.title || name;
  const copyLink = element('button', { type: 'button', className: 'secondary', textContent: 'Copy link' });
  copyLink.dataset.copy = image.permalink_url;
  copyLink.dataset.copyLabel = 'Link';
  const copyMd = element('button', { type: 'button', className: 'secondary', textContent: 'Copy Markdown' });
  copyMd.dataset.copy = markdownFor(alt, image.url);
  copyMd.dataset.copyLabel = 'Markdown';
  const thumb = element('a', { className: 'upload-thumb', href: image.permalink_url }, [
    element('img', { src: image.thumb_url, alt: `Open ${name}` }),
  ]);
  item.prepend(thumb);
  body.append(
    element('label', { htmlFor: id, textContent: 'Link' }),
    link,
    element('div', { className: 'row' }, [
      copyLink,
      copyMd,
      element('a', { href: image.permalink_url, textContent: 'Open' }),
    ]),
  );
  item.classList.add('done');
  wireCopyButtons(item, status);
  status.textContent = `${name} uploaded.`;
}

function failed(item, state, name, message) {
  state.textContent = `Not uploaded: ${message}`;
  state.className = 'error';
  item.classList.add('failed');
  status.textContent = `${name} was not uploaded: ${message}`;
}

function uploadAll(files) {
  const images = [...files].filter((file) => file.type.startsWith('image/') || file.type === '');
  if (images.length === 0 && files.length > 0) status.textContent = 'Only images can be uploaded.';
  for (const file of images) upload(file);
}

input.addEventListener('change', () => {
  uploadAll(input.files);
  input.value = '';
});

// Dropping anywhere on the page works; the drop zone shows that it will.
const hasFiles = (event) => [...(event.dataTransfer?.types ?? [])].includes('Files');
document.addEventListener('dragover', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  form.classList.add('over');
});
document.addEventListener('dragleave', (event) => {
  if (event.relatedTarget === null) form.classList.remove('over');
});
document.addEventListener('drop', (event) => {
  if (!hasFiles(event)) return;
  event.preventDefault();
  form.classList.remove('over');
  uploadAll(event.dataTransfer.files);
});

document.addEventListener('paste', (event) => {
  const files = [...(event.clipboardData?.items ?? [])]
    .filter((item) => item.kind === 'file')
    .map((item) => item.getAsFile())
    .filter(Boolean);
  // Pasting text into a field stays a paste of text.
  if (files.length === 0) return;
  event.preventDefault();
  uploadAll(files);
});
