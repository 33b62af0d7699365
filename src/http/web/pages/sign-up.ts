import { type Static, Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../../../runtime.ts';
import { notFound, ServiceError } from '../../../services/errors.ts';
import type { SignUp } from '../../../services/registration.service.ts';
import type { SignedIn } from '../../../services/sessions.service.ts';
import { TooManyRequests } from '../../errors.ts';
import type { GazoApp } from '../../types.ts';
import { html, type SafeHtml } from '../html.ts';
import { sendPage } from '../layout.ts';
import { cookieSecurity, csrfToken } from '../security.ts';
import { SESSION_COOKIE, sessionViewer, setSessionCookie } from '../session.ts';
import { timeTag } from '../time.ts';

/**
 * Accounts one address may make by open sign-up in an hour. Failed sign-ups are limited with
 * failed sign-ins; this bounds the successful ones, so that one client cannot fill the server
 * with accounts.
 */
export const SIGNUPS_PER_ADDRESS_PER_HOUR = 5;
const HOUR_MS = 60 * 60 * 1000;

const SignUpBody = Type.Object({
  name: Type.String({ maxLength: 256 }),
  email: Type.Optional(Type.String({ maxLength: 320 })),
  password: Type.String({ maxLength: 4096 }),
  repeat: Type.String({ maxLength: 4096 }),
  _csrf: Type.Optional(Type.String()),
});
type SignUpFields = { name?: string; email?: string };

const InviteParams = Type.Object({ token: Type.String({ maxLength: 256 }) });

function signUpForm(
  action: string,
  csrf: string,
  fields: SignUpFields,
  error?: string,
  intro?: SafeHtml,
): SafeHtml {
  return html`<form method="post" action="${action}" class="card" aria-labelledby="signup-title">
<h1 id="signup-title">Sign up</h1>
${intro ?? ''}
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<input type="hidden" name="_csrf" value="${csrf}">
<div class="field"><label for="signup-name">User name <span class="hint">(letters, digits, "_", "." or "-"; up to 64)</span></label>
<input type="text" id="signup-name" name="name" value="${fields.name ?? ''}" autocomplete="username" required maxlength="64" pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]*" autocapitalize="none" spellcheck="false"></div>
<div class="field"><label for="signup-email">Email <span class="hint">(optional)</span></label>
<input type="email" id="signup-email" name="email" value="${fields.email ?? ''}" autocomplete="email" maxlength="320"></div>
<div class="field"><label for="signup-password">Password <span class="hint">(8 characters or more)</span></label>
<input type="password" id="signup-password" name="password" autocomplete="new-password" required minlength="8" maxlength="1024"></div>
<div class="field"><label for="signup-repeat">Password again</label>
<input type="password" id="signup-repeat" name="repeat" autocomplete="new-password" required minlength="8" maxlength="1024"></div>
<button type="submit">Sign up</button>
<p class="muted">Have an account? <a href="/signin">Sign in</a>.</p>
</form>`;
}

/**
 * `/signup` (while registration is open) and `/invite/<token>` (a link an admin made): a form
 * that makes the user and signs them in. Every refused attempt (a bad link, a taken name, a
 * short password) counts against the address as a failed sign-in does.
 */
export function signUpRoutes(app: GazoApp, rt: Runtime) {
  const secure = cookieSecurity(rt);
  const signUps = app.createRateLimit({ max: SIGNUPS_PER_ADDRESS_PER_HOUR, timeWindow: HOUR_MS });

  const render = (
    reply: FastifyReply,
    action: string,
    fields: SignUpFields,
    error?: string,
    status = 200,
    intro?: SafeHtml,
  ) =>
    sendPage(
      rt,
      reply,
      {
        title: 'Sign up',
        body: html`<div class="narrow">${signUpForm(action, csrfToken(reply), fields, error, intro)}</div>`,
      },
      status,
    );

  /** Runs a sign-up: a refusal re-shows the form with what was typed (never the password). */
  const attempt = async (
    request: FastifyRequest<{ Body: Static<typeof SignUpBody> }>,
    reply: FastifyReply,
    action: string,
    signUp: (form: SignUp) => Promise<SignedIn | undefined>,
  ) => {
    await request.server.authLimits.beforeCheck(request);
    const { name, password, repeat } = request.body;
    const email = request.body.email?.trim() || undefined;
    const fields = { name, email };
    const refuse = async (message: string, status: number) => {
      await request.server.authLimits.failed(request);
      return render(reply, action, fields, message, status);
    };
    if (password !== repeat) return refuse('The two passwords differ.', 400);
    let signedIn: SignedIn | undefined;
    try {
      signedIn = await signUp({ name, password, email });
    } catch (err) {
      if (err instanceof ServiceError && (err.status === 400 || err.status === 403)) {
        return refuse(`${err.message}.`, err.status);
      }
      throw err;
    }
    if (!signedIn) return refuse(deadInvite().message, 404);
    const old = request.cookies[SESSION_COOKIE];
    if (old) await rt.sessions.signOut(old);
    setSessionCookie(reply, signedIn.sessionId, secure);
    return reply.redirect('/', 303);
  };

  app.get('/signup', { schema: { hide: true } }, async (request, reply) => {
    if (!rt.registration.isOpen) throw closed();
    if (await sessionViewer(rt.sessions, request)) return reply.redirect('/', 303);
    return render(reply, '/signup', {});
  });

  app.post('/signup', { schema: { hide: true, body: SignUpBody } }, async (request, reply) => {
    if (!rt.registration.isOpen) throw closed();
    const state = await signUps(request, { increment: false });
    if (!state.isAllowed && state.remaining === 0) {
      throw new TooManyRequests(
        `Too many accounts made from your address; try again in ${state.ttlInSeconds} s`,
        state.ttlInSeconds,
      );
    }
    return attempt(request, reply, '/signup', async (form) => {
      const signedIn = await rt.registration.signUp(form, request.headers['user-agent']);
      await signUps(request);
      return signedIn;
    });
  });

  // The token is the path: the page sends no Referer, so it cannot leak to a site linked later.
  app.get('/invite/:token', { schema: { hide: true, params: InviteParams } }, async (request, reply) => {
    reply.header('Referrer-Policy', 'no-referrer');
    await request.server.authLimits.beforeCheck(request);
    const found = await rt.registration.findInvite(request.params.token);
    if (!found) {
      await request.server.authLimits.failed(request);
      throw deadInvite();
    }
    const intro = html`<p class="intro">${found.invitedBy} invited you to this Gazo server. The link makes one account, until ${timeTag(found.invite.expires_at)}.</p>`;
    return render(reply, `/invite/${request.params.token}`, {}, undefined, 200, intro);
  });

  app.post(
    '/invite/:token',
    { schema: { hide: true, params: InviteParams, body: SignUpBody } },
    async (request, reply) => {
      reply.header('Referrer-Policy', 'no-referrer');
      const { token } = request.params;
      return attempt(request, reply, `/invite/${token}`, (form) =>
        rt.registration.signUpWithInvite(token, form, request.headers['user-agent']),
      );
    },
  );
}

const deadInvite = () =>
  notFound('This invite link does not work: it has been used, revoked or has expired. Ask for a new one.');
const closed = () => notFound('Registration is closed on this server: ask its admin for an invite link.');
