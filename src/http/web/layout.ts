import type { FastifyReply } from 'fastify';
import type { Runtime } from '../../runtime.ts';
import type { Principal } from '../../services/principal.ts';
import { assetUrl } from './assets.ts';
import { html, type SafeHtml } from './html.ts';

export interface Page {
  title: string;
  /** The signed-in user, for the navigation; none for a visitor. */
  viewer?: Principal;
  /** A CSRF token for the page's forms and scripts (`<meta name="csrf-token">`). */
  csrf?: string;
  /** Which navigation entry is the current page. */
  section?: 'images' | 'upload' | 'applications' | 'devices' | 'account' | 'admin';
  /** Script assets (file names in assets/), loaded as modules after the page. */
  scripts?: string[];
  head?: SafeHtml;
  /** Origins the page's forms may post or redirect to, besides this one (OAuth redirect URIs). */
  formTargets?: string[];
  body: SafeHtml;
}

const NAV: Array<[Page['section'], string, string]> = [
  ['images', '/', 'My images'],
  ['upload', '/upload', 'Upload'],
  ['applications', '/applications', 'Applications'],
  ['devices', '/devices', 'Devices'],
  ['account', '/account', 'Account'],
];

function nav(page: Page): SafeHtml {
  const viewer = page.viewer;
  if (!viewer) {
    return html`<nav aria-label="Main"><a class="brand" href="/">Gazo</a>
<ul><li><a href="/signin">Sign in</a></li></ul></nav>`;
  }
  const entries = NAV.concat(viewer.isAdmin ? [['admin', '/admin', 'Admin']] : []);
  return html`<nav aria-label="Main"><a class="brand" href="/">Gazo</a>
<ul>${entries.map(
    ([section, href, label]) =>
      html`<li><a href="${href}"${section === page.section ? html` aria-current="page"` : ''}>${label}</a></li>`,
  )}
<li><form method="post" action="/signout"><input type="hidden" name="_csrf" value="${page.csrf ?? ''}"><button type="submit" class="link">Sign out <span class="who">(${viewer.name})</span></button></form></li></ul></nav>`;
}

/** A whole HTML page: navigation, the page's body, its styles and scripts (all from this origin). */
export function renderPage(page: Page): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
${page.csrf ? html`<meta name="csrf-token" content="${page.csrf}">` : ''}
<title>${page.title} · Gazo</title>
<link rel="stylesheet" href="${assetUrl('gazo.css')}">
<link rel="icon" href="${assetUrl('favicon.svg')}" type="image/svg+xml">
${page.head ?? ''}
${(page.scripts ?? []).map((name) => html`<script type="module" src="${assetUrl(name)}"></script>`)}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>${nav(page)}</header>
<main id="main">${page.body}</main>
</body>
</html>
`.value;
}

/** The pages' policy: nothing from another origin but our image origin, scripts only from files here. */
export function pageCsp(rt: Runtime, formTargets: string[] = []): string {
  const images = new Set(["'self'", rt.config.urls.image, 'blob:', 'data:']);
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src ${[...images].join(' ')}`,
    `connect-src 'self' ${rt.config.urls.upload}`,
    `form-action 'self' ${formTargets.join(' ')}`.trim(),
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
}

/** Sends a page with its security headers; pages are per-user, so never cached by proxies. */
export function sendPage(rt: Runtime, reply: FastifyReply, page: Page, status = 200) {
  return reply
    .code(status)
    .header('Content-Security-Policy', pageCsp(rt, page.formTargets))
    .header('Cache-Control', 'no-store')
    .header('X-Frame-Options', 'DENY')
    .type('text/html; charset=utf-8')
    .send(renderPage(page));
}
