import { randomBytes } from 'node:crypto';
import type { MetadataStore } from '../store/types.ts';
import { hashPassword, hashSecret, verifyPassword } from './accounts.service.ts';
import { type Principal, principalOf } from './principal.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** A session unused this long ends; each use (at most one write per TOUCH_MS) extends it. */
export const SESSION_IDLE_MS = 30 * DAY_MS;
const TOUCH_MS = 10 * 60 * 1000;
const MAX_USER_AGENT = 256;

/** What signing in answers: the cookie's value (shown once, stored hashed) and who it is. */
export interface SignedIn {
  sessionId: string;
  principal: Principal;
}

/** A session as its user sees it in their account: never its id or hash. */
export interface ListedSession {
  userAgent: string | null;
  createdAt: number;
  lastSeenAt: number;
  /** The session of the browser asking. */
  current: boolean;
}

// Verified against when the user does not exist, so that the answer takes as long either way.
let decoyHash: Promise<string> | undefined;

/** Browser sessions: signing in with a password, finding the session behind a cookie, signing out. */
export class SessionsService {
  constructor(private readonly store: MetadataStore) {}

  /** The session's principal, or undefined for a bad name, password, or a disabled or password-less user. */
  async signIn(name: string, password: string, userAgent?: string): Promise<SignedIn | undefined> {
    const user = name.length <= 64 ? await this.store.users.findByName(name) : undefined;
    if (!user?.password_hash) {
      decoyHash ??= hashPassword(randomBytes(16).toString('hex'));
      await verifyPassword(password, await decoyHash);
      return undefined;
    }
    if (!(await verifyPassword(password, user.password_hash))) return undefined;
    if (user.disabled_at !== null) return undefined;
    return this.start(user.id, userAgent);
  }

  /** A new session for the user (sign-in, sign-up): always a new id, so a planted one is useless. */
  async start(userId: number, userAgent?: string): Promise<SignedIn> {
    const sessionId = randomBytes(32).toString('base64url');
    await this.store.sessions.create({
      hash: hashSecret(sessionId),
      userId,
      expiresAt: Date.now() + SESSION_IDLE_MS,
      userAgent: userAgent ? userAgent.slice(0, MAX_USER_AGENT) : null,
    });
    const user = await this.store.users.findById(userId);
    if (!user) throw new Error(`user ${userId} vanished while signing in`);
    return { sessionId, principal: principalOf(user, 'session') };
  }

  /** Whom a session cookie stands for; undefined when unknown, expired, or its user is disabled. */
  async resolve(sessionId: string): Promise<Principal | undefined> {
    if (sessionId.length === 0 || sessionId.length > 128) return undefined;
    const found = await this.store.sessions.findByHash(hashSecret(sessionId));
    if (!found) return undefined;
    const now = Date.now();
    if (found.session.expires_at <= now) {
      await this.store.sessions.delete(found.session.session_hash);
      return undefined;
    }
    if (found.user.disabled_at !== null) return undefined;
    if (now - found.session.last_seen_at > TOUCH_MS) {
      await this.store.sessions.touch(found.session.id, now, now + SESSION_IDLE_MS);
    }
    return principalOf(found.user, 'session');
  }

  async signOut(sessionId: string): Promise<void> {
    await this.store.sessions.delete(hashSecret(sessionId));
  }

  /** Ends the user's other sessions (after a password change), or all of them. */
  endOthers(userId: number, keepSessionId?: string): Promise<number> {
    return this.store.sessions.deleteForUser(
      userId,
      keepSessionId === undefined ? undefined : hashSecret(keepSessionId),
    );
  }

  /** The user's sessions, the asking one (`current`) first, then the most recently used. */
  async list(userId: number, currentSessionId?: string): Promise<ListedSession[]> {
    const current = currentSessionId === undefined ? undefined : hashSecret(currentSessionId);
    const rows = await this.store.sessions.listForUser(userId, Date.now());
    return rows
      .map((row) => ({
        userAgent: row.user_agent,
        createdAt: row.created_at,
        lastSeenAt: row.last_seen_at,
        current: row.session_hash === current,
      }))
      .sort((a, b) => Number(b.current) - Number(a.current));
  }

  deleteExpired(): Promise<number> {
    return this.store.sessions.deleteExpired(Date.now());
  }
}
