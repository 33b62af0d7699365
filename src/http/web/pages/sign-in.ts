import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Runtime } from '../../../runtime.ts';
import type { GazoApp } from '../../types.ts';
import { html, type SafeHtml } from '../html.ts';
import { sendPage } from '../layout.ts';
import { cookieSecurity, csrfToken } from '../security.ts';
import { clearSessionCookie, SESSION_COOKIE, sessionViewer, setSessionCookie } from '../session.ts';

/** Where to go after signing in: a path on this site only (never `//host` or a scheme). */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) {
    return '/';
  }
  return next.length > 2048 ? '/' : next;
}

/** The sign-in form, as its own page and on the visitors' front page. */
export function signInForm(csrf: string, next = '/', error?: string): SafeHtml {
  return html`<form method="post" action="/signin" class="card stack" aria-labelledby="signin-title">
<h2 id="signin-title">Sign in</h2>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<input type="hidden" name="_csrf" value="${csrf}">
<input type="hidden" name="next" value="${next}">
<div class="field"><label for="signin-name">User name</label>
<input type="text" id="signin-name" name="name" autocomplete="username" required maxlength="64" autocapitalize="none" spellcheck="false"></div>
<div class="field"><label for="signin-password">Password</label>
<input type="password" id="signin-password" name="password" autocomplete="current-password" required maxlength="1024"></div>
<button type="submit">Sign in</button>
</form>`;
}

const SignInBody = Type.Object({
  name: Type.String({ maxLength: 256 }),
  password: Type.String({ maxLength: 1024 }),
  next: Type.Optional(Type.String({ maxLength: 4096 })),
  _csrf: Type.Optional(Type.String()),
});

export function signInRoutes(app: GazoApp, rt: Runtime) {
  const secure = cookieSecurity(rt);
  const render = (reply: FastifyReply, next: string, error?: string, status = 200) =>
    sendPage(
      rt,
      reply,
      {
        title: 'Sign in',
        body: html`<div class="narrow">${signInForm(csrfToken(reply), next, error)}</div>`,
      },
      status,
    );

  app.get(
    '/signin',
    {
      schema: {
        hide: true,
        querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 4096 })) }),
      },
    },
    async (request, reply) => {
      const next = safeNext(request.query.next);
      if (await sessionViewer(rt.sessions, request)) return reply.redirect(next, 303);
      return render(reply, next);
    },
  );

  app.post('/signin', { schema: { hide: true, body: SignInBody } }, async (request, reply) => {
    const next = safeNext(request.body.next);
    // Failed sign-ins count against the address, like failed tokens (auth-limits.ts).
    await request.server.authLimits.beforeCheck(request);
    const signedIn = await rt.sessions.signIn(
      request.body.name,
      request.body.password,
      request.headers['user-agent'],
    );
    if (!signedIn) {
      await request.server.authLimits.failed(request);
      return render(reply, next, 'That user name and password do not match.', 401);
    }
    // The old session (if any) ends: signing in always starts a new one.
    const old = request.cookies[SESSION_COOKIE];
    if (old) await rt.sessions.signOut(old);
    setSessionCookie(reply, signedIn.sessionId, secure);
    return reply.redirect(next, 303);
  });

  app.post('/signout', { schema: { hide: true } }, async (request, reply) => {
    const id = request.cookies[SESSION_COOKIE];
    if (id) await rt.sessions.signOut(id);
    clearSessionCookie(reply, secure);
    return reply.redirect('/', 303);
  });
}
