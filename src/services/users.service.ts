import type { UserRow } from '../store/schema.ts';
import type { MetadataStore } from '../store/types.ts';
import { checkNewPassword, hashPassword, verifyPassword } from './accounts.service.ts';
import { badRequest, notFound } from './errors.ts';
import type { Principal } from './principal.ts';
import type { SessionsService } from './sessions.service.ts';

/** Who changes a user: an admin signed in on the web, or the operator at the command line. */
export type Actor = Principal | 'operator';

/**
 * What changes a user's standing: their password, disabling and enabling them, admin rights.
 * Admins may not disable or demote themselves, nor leave the server without an admin who can
 * sign in; the operator (who holds the data dir) may do anything but leave it without one by
 * demoting.
 */
export class UsersService {
  constructor(
    private readonly store: MetadataStore,
    private readonly sessions: SessionsService,
  ) {}

  /**
   * The user's own change: the current password must be right. Their other sessions end (a
   * thief's included); the one named stays. Undefined, and nothing changed, when it is wrong.
   */
  async changePassword(
    viewer: Principal,
    keepSessionId: string | undefined,
    current: string,
    next: string,
  ): Promise<{ endedSessions: number } | undefined> {
    checkNewPassword(next);
    const user = await this.store.users.findById(viewer.userId);
    if (!user?.password_hash || !(await verifyPassword(current, user.password_hash))) return undefined;
    await this.store.users.setPassword(user.id, await hashPassword(next));
    return { endedSessions: await this.sessions.endOthers(user.id, keepSessionId) };
  }

  /** The operator sets a user's password (`gazo user password`): every session of theirs ends. */
  async resetPassword(name: string, password: string): Promise<{ endedSessions: number }> {
    checkNewPassword(password);
    const user = await this.byName(name);
    await this.store.users.setPassword(user.id, await hashPassword(password));
    return { endedSessions: await this.sessions.endOthers(user.id) };
  }

  async list(actor: Actor): Promise<UserRow[]> {
    requireAdmin(actor);
    return this.store.users.list();
  }

  async byName(name: string): Promise<UserRow> {
    const user = await this.store.users.findByName(name);
    if (!user) throw notFound(`No user named ${name}`);
    return user;
  }

  /**
   * Disables the user: their sessions end at once, and their tokens and devices stop working
   * (authentication refuses a disabled user). Disabling a disabled user changes nothing.
   */
  async disable(actor: Actor, userId: number): Promise<UserRow> {
    const user = await this.target(actor, userId, 'disable');
    if (user.disabled_at === null) {
      if (actor === 'operator') await this.store.users.setDisabled(user.id, Date.now());
      else if (!(await this.store.users.takeAway(user.id, 'disable', Date.now()))) throw lastAdmin(user);
    }
    await this.sessions.endOthers(user.id);
    return user;
  }

  async enable(actor: Actor, userId: number): Promise<UserRow> {
    const user = await this.target(actor, userId);
    await this.store.users.setDisabled(user.id, null);
    return user;
  }

  async grantAdmin(actor: Actor, userId: number): Promise<UserRow> {
    const user = await this.target(actor, userId);
    await this.store.users.setAdmin(user.id);
    return user;
  }

  async revokeAdmin(actor: Actor, userId: number): Promise<UserRow> {
    const user = await this.target(actor, userId, 'demote');
    if (!(await this.store.users.takeAway(user.id, 'unadmin', Date.now()))) throw lastAdmin(user);
    return user;
  }

  private async target(actor: Actor, userId: number, change?: 'disable' | 'demote'): Promise<UserRow> {
    requireAdmin(actor);
    const user = await this.store.users.findById(userId);
    if (!user) throw notFound('No such user');
    if (change && actor !== 'operator' && actor.userId === user.id) {
      throw badRequest(`You cannot ${change} yourself; another admin can`);
    }
    return user;
  }
}

/** Admin pages answer 404 to everyone else: to them, there is nothing there. */
export function requireAdmin(actor: Actor): void {
  if (actor !== 'operator' && !actor.isAdmin) throw notFound();
}

const lastAdmin = (user: UserRow) =>
  badRequest(`${user.name} is the last admin who can sign in: make another user an admin first`);
