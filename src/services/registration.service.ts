import { randomBytes } from 'node:crypto';
import type { InviteRow } from '../store/schema.ts';
import type { ListedInvite, MetadataStore } from '../store/types.ts';
import { type AccountsService, hashSecret } from './accounts.service.ts';
import { forbidden, notFound } from './errors.ts';
import type { Principal } from './principal.ts';
import type { SessionsService, SignedIn } from './sessions.service.ts';
import { requireAdmin } from './users.service.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** How long an invite link works. */
export const INVITE_LIFETIME_MS = 7 * DAY_MS;

export interface SignUp {
  name: string;
  password: string;
  email?: string;
}

/**
 * How people get accounts on the web: signing up themselves while registration is open, or
 * with an invite link an admin made (single use, expiring). Users made here are never admins:
 * the first user, the admin, comes from `gazo user create`.
 */
export class RegistrationService {
  constructor(
    private readonly store: MetadataStore,
    private readonly accounts: AccountsService,
    private readonly sessions: SessionsService,
    readonly mode: 'open' | 'closed',
  ) {}

  get isOpen(): boolean {
    return this.mode === 'open';
  }

  /** Open registration: makes the user and signs them in (a new session). */
  async signUp(form: SignUp, userAgent?: string): Promise<SignedIn> {
    if (!this.isOpen) throw notFound('Registration is closed on this server: ask its admin for an invite');
    // Else whoever found a fresh server first would own it, or it would have no admin at all.
    if (!(await this.store.users.hasActiveAdmin())) {
      throw forbidden('This server has no admin yet: its operator makes one first with gazo user create');
    }
    const user = await this.accounts.prepareUser(form.name, { ...form, isAdmin: false });
    const row = await this.accounts.insertUser(form.name, user, (u) => this.store.users.create(u));
    return this.sessions.start(row.id, userAgent);
  }

  /** Makes an invite link's token (shown once: only its hash is kept), valid for 7 days. */
  async createInvite(admin: Principal): Promise<{ token: string; invite: InviteRow }> {
    requireAdmin(admin);
    const token = randomBytes(32).toString('base64url');
    const now = Date.now();
    const invite = await this.store.invites.create({
      hash: hashSecret(token),
      createdBy: admin.userId,
      createdAt: now,
      expiresAt: now + INVITE_LIFETIME_MS,
    });
    return { token, invite };
  }

  listInvites(admin: Principal): Promise<ListedInvite[]> {
    requireAdmin(admin);
    return this.store.invites.listUsable(Date.now());
  }

  async revokeInvite(admin: Principal, inviteId: number): Promise<void> {
    requireAdmin(admin);
    if (!(await this.store.invites.revoke(inviteId))) throw notFound('No such unused invite');
  }

  /** The invite behind a link's token, if it can still be used, and who made it. */
  async findInvite(token: string): Promise<{ invite: InviteRow; invitedBy: string } | undefined> {
    if (token.length === 0 || token.length > 128) return undefined;
    const invite = await this.store.invites.findUsable(hashSecret(token), Date.now());
    if (!invite) return undefined;
    const by = await this.store.users.findById(invite.created_by);
    return { invite, invitedBy: by?.name ?? 'an admin' };
  }

  /**
   * Makes the user with the invite (the invite is marked used in the same transaction) and
   * signs them in; undefined, and no user made, when the link is used, expired or unknown.
   */
  async signUpWithInvite(token: string, form: SignUp, userAgent?: string): Promise<SignedIn | undefined> {
    if (!(await this.findInvite(token))) return undefined;
    const user = await this.accounts.prepareUser(form.name, { ...form, isAdmin: false });
    const row = await this.accounts.insertUser(form.name, user, (u) =>
      this.store.invites.redeem(hashSecret(token), Date.now(), u),
    );
    return row && this.sessions.start(row.id, userAgent);
  }
}
