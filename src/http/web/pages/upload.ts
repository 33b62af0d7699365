import type { FastifyRequest } from 'fastify';
import type { Runtime } from '../../../runtime.ts';
import { unauthorized } from '../../../services/errors.ts';
import { refuseDeclaredOversize } from '../../multipart.ts';
import type { GazoApp } from '../../types.ts';
import { receiveUpload } from '../../upload-request.ts';
import { wantsJson } from '../errors.ts';
import { html } from '../html.ts';
import { sendPage } from '../layout.ts';
import { assertCsrfToken, csrfToken } from '../security.ts';
import { sessionViewer } from '../session.ts';

const signInFirst = (request: FastifyRequest) => `/signin?next=${encodeURIComponent(request.url)}`;

/**
 * `/upload`: the page (drop, paste, pick; upload.js sends each file with its own progress) and
 * the route it posts to. The route takes the session, never a token: /api/upload is for those.
 */
export function uploadRoutes(app: GazoApp, rt: Runtime) {
  app.get('/upload', { schema: { hide: true } }, async (request, reply) => {
    const viewer = await sessionViewer(rt.sessions, request);
    if (!viewer) return reply.redirect(signInFirst(request), 303);
    const csrf = csrfToken(reply);
    return sendPage(rt, reply, {
      title: 'Upload',
      viewer,
      csrf,
      section: 'upload',
      scripts: ['upload.js'],
      body: html`<h1>Upload</h1>
<form method="post" action="/upload" enctype="multipart/form-data" class="dropzone stack" id="upload-form">
<input type="hidden" name="_csrf" value="${csrf}">
<p class="upload-how">Drop images here, paste one with <kbd>Ctrl</kbd>+<kbd>V</kbd> anywhere on this page, or choose files.</p>
<div class="field"><label for="upload-file">Choose images</label>
<input type="file" id="upload-file" name="imagedata" accept="image/*" required></div>
<button type="submit" id="upload-submit">Upload</button>
</form>
<p id="upload-status" class="visually-hidden" role="status" aria-live="polite"></p>
<ul id="upload-results" class="uploads" aria-label="Uploads"></ul>`,
    });
  });

  // The CSRF token is checked here, not by the group's preHandler: the body is multipart and
  // streamed. Scripts send it as X-CSRF-Token (checked before reading); the plain form sends
  // the `_csrf` field, placed before the file input, so it arrives before `imagedata` and is
  // checked before a byte of the image is staged. Either way the session must be there first.
  const onRequest = refuseDeclaredOversize(rt.config.limits.maxUploadBytes);
  app.post(
    '/upload',
    { schema: { hide: true }, onRequest, config: { csrf: false } },
    async (request, reply) => {
      let checked = false;
      const check = (token: string | undefined) => {
        if (checked) return;
        assertCsrfToken(request, reply, token);
        checked = true;
      };
      const header = request.headers['x-csrf-token'];
      const row = await receiveUpload(rt, request, {
        beforeReading: async () => {
          const viewer = await sessionViewer(rt.sessions, request);
          if (!viewer) throw unauthorized('Sign in to upload');
          if (header !== undefined) check(String(header));
          return viewer;
        },
        beforeImage: (fields) => check(fields._csrf),
        owner: async (viewer, fields) => {
          check(fields._csrf);
          return viewer.userId;
        },
      });
      if (wantsJson(request)) return rt.urls.toWire(row);
      return reply.redirect(`/${row.image_id}`, 303);
    },
  );
}
