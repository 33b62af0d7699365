import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../../../runtime.ts';
import { ServiceError } from '../../../services/errors.ts';
import type { Principal } from '../../../services/principal.ts';
import type { GazoApp } from '../../types.ts';
import { html } from '../html.ts';
import { sendPage } from '../layout.ts';
import { csrfToken } from '../security.ts';
import { SESSION_COOKIE, sessionViewer } from '../session.ts';
import { timeTag } from '../time.ts';

const PasswordBody = Type.Object({
  current: Type.String({ maxLength: 1024 }),
  password: Type.String({ maxLength: 4096 }),
  repeat: Type.String({ maxLength: 4096 }),
  _csrf: Type.Optional(Type.String()),
});

const Done = Type.Object({
  done: Type.Optional(Type.Union([Type.Literal('password'), Type.Literal('sessions')])),
  ended: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
});

const sessionsWord = (n: number) => (n === 1 ? '1 other session was' : `${n} other sessions were`);

/** What the page says after a change (from the query of the redirect that follows it). */
function doneNotice(done: 'password' | 'sessions' | undefined, ended = 0): string | undefined {
  if (done === 'password') {
    return `Your password was changed. ${ended === 0 ? 'You had no other sessions.' : `${sessionsWord(ended)} signed out.`}`;
  }
  if (done === 'sessions')
    return ended === 0 ? 'You had no other sessions.' : `${sessionsWord(ended)} signed out.`;
  return undefined;
}

/** `/account`: who you are, changing your password, and the browsers signed in as you. */
export function accountRoutes(app: GazoApp, rt: Runtime) {
  const render = async (
    request: FastifyRequest,
    reply: FastifyReply,
    viewer: Principal,
    message: { notice?: string; error?: string },
    status = 200,
  ) => {
    const sessions = await rt.sessions.list(viewer.userId, request.cookies[SESSION_COOKIE]);
    const csrf = csrfToken(reply);
    const others = sessions.filter((s) => !s.current).length;
    return sendPage(
      rt,
      reply,
      {
        title: 'Account',
        viewer,
        csrf,
        section: 'account',
        body: html`<div class="account stack">
<h1>Account</h1>
${message.notice ? html`<p class="notice" role="status">${message.notice}</p>` : ''}
<section class="card" aria-labelledby="you-title">
<h2 id="you-title">You</h2>
<dl class="account-facts">
<dt>User name</dt><dd>${viewer.name}</dd>
<dt>Email</dt><dd>${viewer.email ?? html`<span class="muted">none</span>`}</dd>
${viewer.isAdmin ? html`<dt>Role</dt><dd>Admin (<a href="/admin">users and invites</a>)</dd>` : ''}
</dl>
</section>
<form method="post" action="/account/password" class="card" aria-labelledby="password-title">
<h2 id="password-title">Change password</h2>
${message.error ? html`<p class="error" role="alert">${message.error}</p>` : ''}
<input type="hidden" name="_csrf" value="${csrf}">
<input type="text" name="name" value="${viewer.name}" autocomplete="username" hidden>
<div class="field"><label for="current-password">Current password</label>
<input type="password" id="current-password" name="current" autocomplete="current-password" required maxlength="1024"></div>
<div class="field"><label for="new-password">New password <span class="hint">(8 characters or more)</span></label>
<input type="password" id="new-password" name="password" autocomplete="new-password" required minlength="8" maxlength="1024"></div>
<div class="field"><label for="repeat-password">New password again</label>
<input type="password" id="repeat-password" name="repeat" autocomplete="new-password" required minlength="8" maxlength="1024"></div>
<p class="muted">Your other sessions are signed out when the password changes; this one stays.</p>
<button type="submit">Change password</button>
</form>
<section class="card" aria-labelledby="sessions-title">
<h2 id="sessions-title">Sessions</h2>
<p class="muted">Browsers signed in as you. A session ends when it signs out, or after 30 days unused.</p>
<ul class="sessions">${sessions.map(
          (s) => html`<li>
<div class="agent">${s.userAgent ?? 'Unknown browser'}${s.current ? html` <strong class="badge">This browser</strong>` : ''}</div>
<div class="muted">Last seen ${timeTag(s.lastSeenAt)} · signed in ${timeTag(s.createdAt)}</div>
</li>`,
        )}</ul>
${
  others > 0
    ? html`<form method="post" action="/account/sessions/end-others">
<input type="hidden" name="_csrf" value="${csrf}">
<button type="submit" class="danger">Sign out other sessions</button>
</form>`
    : html`<p>No other sessions.</p>`
}
</section>
</div>`,
      },
      status,
    );
  };

  const signInFirst = (reply: FastifyReply, path: string) =>
    reply.redirect(`/signin?next=${encodeURIComponent(path)}`, 303);

  app.get('/account', { schema: { hide: true, querystring: Done } }, async (request, reply) => {
    const viewer = await sessionViewer(rt.sessions, request);
    if (!viewer) return signInFirst(reply, request.url);
    return render(request, reply, viewer, { notice: doneNotice(request.query.done, request.query.ended) });
  });

  app.post('/account/password', { schema: { hide: true, body: PasswordBody } }, async (request, reply) => {
    const viewer = await sessionViewer(rt.sessions, request);
    if (!viewer) return signInFirst(reply, '/account');
    // A wrong current password counts as a failed sign-in: a borrowed session cannot guess it.
    await request.server.authLimits.beforeCheck(request);
    const { current, password, repeat } = request.body;
    if (password !== repeat) {
      return render(request, reply, viewer, { error: 'The two new passwords differ.' }, 400);
    }
    let changed: { endedSessions: number } | undefined;
    try {
      changed = await rt.users.changePassword(viewer, request.cookies[SESSION_COOKIE], current, password);
    } catch (err) {
      if (err instanceof ServiceError && err.status === 400) {
        return render(request, reply, viewer, { error: `${err.message}.` }, 400);
      }
      throw err;
    }
    if (!changed) {
      await request.server.authLimits.failed(request);
      return render(request, reply, viewer, { error: 'Your current password is not right.' }, 403);
    }
    return reply.redirect(`/account?done=password&ended=${changed.endedSessions}`, 303);
  });

  app.post('/account/sessions/end-others', { schema: { hide: true } }, async (request, reply) => {
    const viewer = await sessionViewer(rt.sessions, request);
    if (!viewer) return signInFirst(reply, '/account');
    const ended = await rt.sessions.endOthers(viewer.userId, request.cookies[SESSION_COOKIE]);
    return reply.redirect(`/account?done=sessions&ended=${ended}`, 303);
  });
}
