import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../../../runtime.ts';
import type { AuthorizationRequest } from '../../../services/oauth.service.ts';
import { formTargetOf } from '../../../services/oauth-checks.ts';
import type { Principal, Scope } from '../../../services/principal.ts';
import type { GazoApp } from '../../types.ts';
import { html } from '../html.ts';
import { sendPage } from '../layout.ts';
import { csrfToken } from '../security.ts';
import { sessionViewer } from '../session.ts';

/** What each scope lets an app do, in the user's words. */
export const SCOPE_TEXT: Record<Scope, string> = {
  public: 'See your account and your images (private ones too), and edit and delete them',
  upload: 'Upload images to your account',
};

/** The authorization request again, as the consent form's hidden fields. */
function requestFields(request: AuthorizationRequest) {
  const fields: Record<string, string | undefined> = {
    client_id: request.app.clientId,
    redirect_uri: request.redirectUriGiven ? request.redirectUri : undefined,
    response_type: 'code',
    scope: request.scopes.join(' '),
    state: request.state,
    code_challenge: request.codeChallenge,
    code_challenge_method: request.codeChallengeMethod,
  };
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
}

function sendConsent(rt: Runtime, reply: FastifyReply, viewer: Principal, request: AuthorizationRequest) {
  const csrf = csrfToken(reply);
  const target = new URL(request.redirectUri);
  const destination = target.protocol.startsWith('http') ? target.host : `${target.protocol}…`;
  return sendPage(rt, reply, {
    title: `Allow ${request.app.name}?`,
    viewer,
    csrf,
    // The answer redirects to the app: the CSP's form-action must allow its address.
    formTargets: [formTargetOf(request.redirectUri)],
    body: html`<div class="narrow card stack consent">
<h1>Allow <span dir="auto">${request.app.name}</span> to use your Gazo account?</h1>
<p>You are signed in as <strong>${viewer.name}</strong>. The application was registered on this server by <strong>${request.app.ownerName}</strong>.</p>
<h2 id="scopes-title">It asks to</h2>
<ul class="scopes" aria-labelledby="scopes-title">${request.scopes.map((s) => html`<li>${SCOPE_TEXT[s]} <span class="muted">(<code>${s}</code>)</span></li>`)}</ul>
<p class="muted">You will then be sent back to <strong>${destination}</strong>. You can take this access back at any time under <a href="/applications">Applications</a>.</p>
<form method="post" action="/oauth/authorize" class="row">
<input type="hidden" name="_csrf" value="${csrf}">
${requestFields(request)}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>
</div>`,
  });
}

/** Where a visitor is sent to sign in first, and brought back to the same request after. */
function signInFirst(reply: FastifyReply, request: FastifyRequest, params: Record<string, unknown>) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === 'string' && name !== '_csrf' && name !== 'decision') query.set(name, value);
  }
  const back = request.method === 'GET' ? request.url : `/oauth/authorize?${query}`;
  return reply.redirect(`/signin?next=${encodeURIComponent(back)}`, 303);
}

/**
 * `/oauth/authorize` (RFC 6749 §4.1.1): the consent page, and its answer. The request is checked
 * before anything else; the user signs in if needed, sees the app and the scopes, and is sent
 * back to the app with a code, or with `error=access_denied`.
 */
export function oauthAuthorizeRoutes(app: GazoApp, rt: Runtime) {
  app.get('/oauth/authorize', { schema: { hide: true } }, async (request, reply) => {
    const params = request.query as Record<string, unknown>;
    const check = await rt.oauth.checkAuthorization(params);
    if (!check.ok) return reply.redirect(check.redirect, 302);
    const viewer = await sessionViewer(rt.sessions, request);
    if (!viewer) return signInFirst(reply, request, params);
    return sendConsent(rt, reply, viewer, check.request);
  });

  // The consent form; its _csrf is checked by the web group (security.ts) before this runs.
  app.post('/oauth/authorize', { schema: { hide: true } }, async (request, reply) => {
    const params = (request.body ?? {}) as Record<string, unknown>;
    const check = await rt.oauth.checkAuthorization(params);
    if (!check.ok) return reply.redirect(check.redirect, 303);
    const viewer = await sessionViewer(rt.sessions, request);
    if (!viewer) return signInFirst(reply, request, params);
    const target =
      params.decision === 'allow'
        ? await rt.oauth.approve(check.request, viewer)
        : rt.oauth.denied(check.request);
    return reply.redirect(target, 303);
  });
}
