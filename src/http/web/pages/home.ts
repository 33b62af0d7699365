import type { Runtime } from '../../../runtime.ts';
import type { GazoApp } from '../../types.ts';
import { html } from '../html.ts';
import { sendPage } from '../layout.ts';
import { csrfToken } from '../security.ts';
import { sessionViewer } from '../session.ts';
import { GalleryQuery, sendMyImages } from './my-images.ts';
import { signInForm } from './sign-in.ts';

/** `/`: for a signed-in user their images; for a visitor, what this server is and a sign-in form. */
export function homeRoutes(app: GazoApp, rt: Runtime) {
  app.get('/', { schema: { hide: true, querystring: GalleryQuery } }, async (request, reply) => {
    const viewer = await sessionViewer(rt.sessions, request);
    const csrf = csrfToken(reply);
    if (viewer) return sendMyImages(rt, reply, viewer, csrf, request.query);
    return sendPage(rt, reply, {
      title: 'Screenshots and images, on your own server',
      body: html`<div class="home">
<section class="stack" aria-labelledby="about-title">
<h1 id="about-title">Gazo: screenshots and images, on this team's own server</h1>
<p>This server keeps the images its users upload and reads the text in them, so that they can be found again by searching.
It speaks the Gyazo API: Gyazo's apps, ShareX, scripts and OAuth applications work with it.</p>
<p class="muted">Accounts are made by the people who run this server${rt.config.web.registration === 'open' ? html`, or by <a href="/signup">signing up</a>` : ''}.</p>
</section>
<div class="narrow">${signInForm(csrf)}</div>
</div>`,
    });
  });
}
