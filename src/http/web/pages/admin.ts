import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../../../runtime.ts';
import { ServiceError } from '../../../services/errors.ts';
import type { Principal } from '../../../services/principal.ts';
import { INVITE_LIFETIME_MS } from '../../../services/registration.service.ts';
import { requireAdmin } from '../../../services/users.service.ts';
import type { UserRow } from '../../../store/schema.ts';
import type { ListedInvite } from '../../../store/types.ts';
import type { GazoApp } from '../../types.ts';
import { html, type SafeHtml } from '../html.ts';
import { sendPage } from '../layout.ts';
import { csrfToken } from '../security.ts';
import { sessionViewer } from '../session.ts';
import { timeTag, utcMinute } from '../time.ts';

/** The changes an admin makes to a user, by the last part of their form's path. */
const USER_ACTIONS = {
  disable: { run: 'disable', done: 'was disabled: their sessions, tokens and devices stop working' },
  enable: { run: 'enable', done: 'was enabled again' },
  admin: { run: 'grantAdmin', done: 'is now an admin' },
  unadmin: { run: 'revokeAdmin', done: 'is no longer an admin' },
} as const;
type UserAction = keyof typeof USER_ACTIONS;

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
const UserActionParams = Type.Object({
  id: Id,
  action: Type.Union([
    Type.Literal('disable'),
    Type.Literal('enable'),
    Type.Literal('admin'),
    Type.Literal('unadmin'),
  ]),
});
const Done = Type.Object({
  done: Type.Optional(Type.Union([...Object.keys(USER_ACTIONS), 'revoked'].map((a) => Type.Literal(a)))),
  user: Type.Optional(Id),
});

interface Message {
  notice?: string;
  /** A change just made to a user, said by the page with that user's name. */
  changed?: { action: UserAction; userId: number };
  error?: string;
  /** A link just made: shown this once. */
  inviteUrl?: string;
}

const hidden = (label: string) => html`<span class="visually-hidden"> ${label}</span>`;

function userRow(user: UserRow, viewer: Principal, csrf: string): SafeHtml {
  const self = user.id === viewer.userId;
  const action = (name: UserAction, label: string, danger = false) =>
    html`<form method="post" action="/admin/users/${user.id}/${name}"><input type="hidden" name="_csrf" value="${csrf}"><button type="submit" class="${danger ? 'danger' : 'secondary'}">${label}${hidden(user.name)}</button></form>`;
  const actions = [
    user.disabled_at === null ? (self ? '' : action('disable', 'Disable', true)) : action('enable', 'Enable'),
    user.is_admin === 1 ? (self ? '' : action('unadmin', 'Remove admin')) : action('admin', 'Make admin'),
  ];
  return html`<tr>
<th scope="row">${user.name}${self ? html` <span class="muted">(you)</span>` : ''}${user.email ? html`<div class="muted">${user.email}</div>` : ''}</th>
<td data-label="Images">${user.image_count}</td>
<td data-label="Created">${timeTag(user.created_at)}</td>
<td data-label="Admin">${user.is_admin === 1 ? 'yes' : html`<span class="muted">no</span>`}</td>
<td data-label="Status">${user.disabled_at === null ? 'Active' : html`<strong class="error">Disabled</strong> ${timeTag(user.disabled_at)}`}</td>
<td><div class="actions">${actions}</div></td>
</tr>`;
}

function inviteRow(invite: ListedInvite, csrf: string): SafeHtml {
  return html`<tr><td data-label="Made">${timeTag(invite.created_at)}</td><td data-label="By">${invite.created_by_name}</td><td data-label="Expires">${timeTag(invite.expires_at)}</td>
<td><div class="actions"><form method="post" action="/admin/invites/${invite.id}/revoke"><input type="hidden" name="_csrf" value="${csrf}"><button type="submit" class="danger">Revoke${hidden(`the invite made ${utcMinute(invite.created_at)}`)}</button></form></div></td></tr>`;
}

/** `/admin` (admins only; anyone else gets 404): users, disabling them, admin rights, invites. */
export function adminRoutes(app: GazoApp, rt: Runtime) {
  /** The signed-in admin; a visitor is sent to sign in, anyone else is told there is nothing here. */
  const adminOf = async (request: FastifyRequest, reply: FastifyReply): Promise<Principal | undefined> => {
    const viewer = await sessionViewer(rt.sessions, request);
    if (!viewer) {
      await reply.redirect(`/signin?next=${encodeURIComponent('/admin')}`, 303);
      return undefined;
    }
    requireAdmin(viewer);
    return viewer;
  };

  const render = async (reply: FastifyReply, viewer: Principal, message: Message, status = 200) => {
    const [users, invites] = await Promise.all([rt.users.list(viewer), rt.registration.listInvites(viewer)]);
    const csrf = csrfToken(reply);
    const changed = message.changed && users.find((u) => u.id === message.changed?.userId);
    const notice =
      changed && message.changed
        ? `${changed.name} ${USER_ACTIONS[message.changed.action].done}.`
        : message.notice;
    const days = INVITE_LIFETIME_MS / (24 * 60 * 60 * 1000);
    return sendPage(
      rt,
      reply,
      {
        title: 'Admin',
        viewer,
        csrf,
        section: 'admin',
        body: html`<div class="admin stack">
<h1>Admin</h1>
${notice ? html`<p class="notice" role="status">${notice}</p>` : ''}
${message.error ? html`<p class="error" role="alert">${message.error}</p>` : ''}
<section class="card" aria-labelledby="users-title">
<h2 id="users-title">Users</h2>
<p class="muted">${
          rt.registration.isOpen
            ? html`Registration is open: anyone can sign up at <a href="/signup">/signup</a>.`
            : 'Registration is closed: people join with an invite link, or the operator runs gazo user create.'
        } A disabled user cannot sign in, and their tokens and devices stop working.</p>
<div class="table-wrap"><table class="cells">
<thead><tr><th scope="col">Name</th><th scope="col">Images</th><th scope="col">Created</th><th scope="col">Admin</th><th scope="col">Status</th><th scope="col">Actions</th></tr></thead>
<tbody>${users.map((u) => userRow(u, viewer, csrf))}</tbody>
</table></div>
</section>
<section class="card" aria-labelledby="invites-title">
<h2 id="invites-title">Invites</h2>
<p class="muted">An invite link lets one person sign up, within ${days} days.</p>
${
  message.inviteUrl
    ? html`<div class="field invite-made"><label for="invite-url">New invite link <span class="hint">(shown only now: copy it and send it to the person you invite)</span></label>
<input type="text" id="invite-url" value="${message.inviteUrl}" readonly spellcheck="false"></div>`
    : ''
}
<form method="post" action="/admin/invites"><input type="hidden" name="_csrf" value="${csrf}"><button type="submit">Make an invite link</button></form>
${
  invites.length === 0
    ? html`<p>No unused invites.</p>`
    : html`<div class="table-wrap"><table class="cells">
<thead><tr><th scope="col">Made</th><th scope="col">By</th><th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Revoke</span></th></tr></thead>
<tbody>${invites.map((i) => inviteRow(i, csrf))}</tbody>
</table></div>`
}
</section>
</div>`,
      },
      status,
    );
  };

  /** Runs an admin's change; a refused one (yourself, the last admin) is shown on the page. */
  const change = async (reply: FastifyReply, viewer: Principal, run: () => Promise<string>) => {
    let done: string;
    try {
      done = await run();
    } catch (err) {
      if (err instanceof ServiceError && err.status === 400) {
        return render(reply, viewer, { error: `${err.message}.` }, 400);
      }
      throw err;
    }
    return reply.redirect(`/admin?${done}`, 303);
  };

  app.get('/admin', { schema: { hide: true, querystring: Done } }, async (request, reply) => {
    const viewer = await adminOf(request, reply);
    if (!viewer) return reply;
    const { done, user } = request.query;
    if (done === 'revoked')
      return render(reply, viewer, { notice: 'The invite was revoked: its link no longer works.' });
    const changed = done && user !== undefined ? { action: done as UserAction, userId: user } : undefined;
    return render(reply, viewer, { changed });
  });

  app.post(
    '/admin/users/:id/:action',
    { schema: { hide: true, params: UserActionParams } },
    async (request, reply) => {
      const viewer = await adminOf(request, reply);
      if (!viewer) return reply;
      const { id, action } = request.params;
      return change(reply, viewer, async () => {
        await rt.users[USER_ACTIONS[action].run](viewer, id);
        return `done=${action}&user=${id}`;
      });
    },
  );

  app.post('/admin/invites', { schema: { hide: true } }, async (request, reply) => {
    const viewer = await adminOf(request, reply);
    if (!viewer) return reply;
    const { token } = await rt.registration.createInvite(viewer);
    // Answered here, not by redirect: the link exists only in this answer.
    return render(reply, viewer, {
      notice: 'Invite link made.',
      inviteUrl: `${rt.config.urls.web}/invite/${token}`,
    });
  });

  app.post(
    '/admin/invites/:id/revoke',
    { schema: { hide: true, params: Type.Object({ id: Id }) } },
    async (request, reply) => {
      const viewer = await adminOf(request, reply);
      if (!viewer) return reply;
      return change(reply, viewer, async () => {
        await rt.registration.revokeInvite(viewer, request.params.id);
        return 'done=revoked';
      });
    },
  );
}
