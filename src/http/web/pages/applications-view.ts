import type { OAuthAppRow } from '../../../store/schema.ts';
import type { TokenWithApp } from '../../../store/types.ts';
import { html, type SafeHtml } from '../html.ts';

/** A secret shown once, right after it was made. */
export interface Revealed {
  title: string;
  rows: Array<[label: string, value: string]>;
  note: string;
}

export interface ApplicationsView {
  csrf: string;
  apps: Array<OAuthAppRow & { user_name: string }>;
  tokens: TokenWithApp[];
  revealed?: Revealed;
  notice?: string;
  /** Why the registration form was refused (shown in the form). */
  error?: string;
  /** What the registration form held when it was refused, to fill it in again. */
  draft?: { name: string; redirectUris: string };
}

const when = (ms: number | null) =>
  ms === null
    ? html`<span class="muted">never</span>`
    : html`<time datetime="${new Date(Number(ms)).toISOString()}">${new Date(Number(ms)).toISOString().slice(0, 16).replace('T', ' ')} UTC</time>`;

const csrfField = (csrf: string) => html`<input type="hidden" name="_csrf" value="${csrf}">`;

function revealedPanel(revealed: Revealed): SafeHtml {
  return html`<section class="card stack revealed" role="status" aria-labelledby="revealed-title">
<h2 id="revealed-title">${revealed.title}</h2>
<dl>${revealed.rows.map(([label, value]) => html`<dt>${label}</dt><dd><code class="secret">${value}</code></dd>`)}</dl>
<p class="notice">${revealed.note}</p>
</section>`;
}

/** One app or token: a card with its name, its facts and its buttons (readable at any width). */
function entry(
  title: SafeHtml | string,
  facts: Array<[string, SafeHtml | string]>,
  actions: SafeHtml,
): SafeHtml {
  return html`<li class="card entry">
<h3 dir="auto">${title}</h3>
<dl class="facts">${facts.map(([label, value]) => html`<div><dt>${label}</dt><dd>${value}</dd></div>`)}</dl>
<div class="row">${actions}</div>
</li>`;
}

function appsSection(view: ApplicationsView): SafeHtml {
  const items = view.apps.map((app) =>
    entry(
      app.name,
      [
        ['Client ID', html`<code>${app.client_id}</code>`],
        [
          'Redirect URIs',
          html`<ul class="plain">${app.redirect_uris.split('\n').map((uri) => html`<li><code>${uri}</code></li>`)}</ul>`,
        ],
        ['Registered', when(app.created_at)],
      ],
      html`<form method="post" action="/applications/apps/${String(app.id)}/secret">${csrfField(view.csrf)}<button type="submit" class="secondary" aria-label="New secret for ${app.name}">New secret</button></form>
<form method="post" action="/applications/apps/${String(app.id)}/delete" data-confirm="Delete ${app.name}? Every token granted to it stops working.">${csrfField(view.csrf)}<button type="submit" class="danger" aria-label="Delete ${app.name}">Delete</button></form>`,
    ),
  );
  return html`<section class="stack" aria-labelledby="apps-title">
<h2 id="apps-title">Your OAuth applications</h2>
<p class="muted">Register a program that signs people in to Gazo with OAuth 2 (<code>/oauth/authorize</code>, <code>/oauth/token</code>). Its users see its name when they allow it.</p>
${
  view.apps.length === 0
    ? html`<p class="muted">You have registered no applications.</p>`
    : html`<ul class="entries" aria-label="Your applications">${items}</ul>`
}
<form method="post" action="/applications/apps" class="card" aria-labelledby="new-app-title">
<h3 id="new-app-title">Register an application</h3>
${view.error ? html`<p class="error" role="alert">${view.error}</p>` : ''}
${csrfField(view.csrf)}
<div class="field"><label for="app-name">Name</label>
<input type="text" id="app-name" name="name" required maxlength="100" value="${view.draft?.name ?? ''}"></div>
<div class="field"><label for="app-redirects">Redirect URIs <span class="hint">one a line; each must match exactly</span></label>
<textarea id="app-redirects" name="redirect_uris" required spellcheck="false" autocapitalize="none" placeholder="https://app.example.com/oauth/callback">${view.draft?.redirectUris ?? ''}</textarea></div>
<button type="submit">Register</button>
</form>
</section>`;
}

function tokensSection(view: ApplicationsView): SafeHtml {
  const items = view.tokens.map((t) => {
    const label = t.app_name ?? t.name ?? 'Personal access token';
    return entry(
      label,
      [
        [
          'Kind',
          t.app_id === null ? 'Personal' : html`App <span dir="auto">${t.app_name ?? '(deleted)'}</span>`,
        ],
        ['Scopes', t.scopes],
        ['Token', html`<code>${t.token_prefix}…</code>`],
        ['Created', when(t.created_at)],
        ['Last used', when(t.last_used_at)],
      ],
      html`<form method="post" action="/applications/tokens/${String(t.id)}/revoke" data-confirm="Revoke ${label}? Whatever uses it stops working.">${csrfField(view.csrf)}<button type="submit" class="danger" aria-label="Revoke ${label} (${t.token_prefix}…)">Revoke</button></form>`,
    );
  });
  return html`<section class="stack" aria-labelledby="tokens-title">
<h2 id="tokens-title">Access tokens</h2>
<p class="muted">Every token that acts for you: personal ones you made, and those you granted to applications. Tokens do not expire; revoke the ones you no longer use.</p>
${
  view.tokens.length === 0
    ? html`<p class="muted">You have no access tokens.</p>`
    : html`<ul class="entries" aria-label="Your access tokens">${items}</ul>`
}
<form method="post" action="/applications/tokens" class="card" aria-labelledby="new-token-title">
<h3 id="new-token-title">Create a personal access token</h3>
${csrfField(view.csrf)}
<div class="field"><label for="token-name">Note <span class="hint">to tell it apart later, e.g. "laptop script"</span></label>
<input type="text" id="token-name" name="name" maxlength="100"></div>
<button type="submit">Create token</button>
</form>
</section>`;
}

function sharexSection(view: ApplicationsView): SafeHtml {
  return html`<section class="stack" aria-labelledby="sharex-title">
<h2 id="sharex-title">ShareX</h2>
<p>Download a ready custom uploader for <a href="https://getsharex.com/">ShareX</a> and open it (double-click): ShareX then uploads your screenshots here. Each download holds a new access token, listed above as "ShareX".</p>
<form method="post" action="/applications/sharex">${csrfField(view.csrf)}<button type="submit">Download ShareX uploader (.sxcu)</button></form>
</section>`;
}

export function applicationsBody(view: ApplicationsView): SafeHtml {
  return html`<h1>Applications</h1>
${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ''}
${view.revealed ? revealedPanel(view.revealed) : ''}
<div class="applications stack">
${appsSection(view)}
${tokensSection(view)}
${sharexSection(view)}
</div>`;
}
