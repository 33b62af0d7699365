import { hash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { AccessTokenRow, DeviceRow, UserRow } from '../store/schema.ts';
import type { CredentialRepository, FoundCredential, MetadataStore, NewUser } from '../store/types.ts';
import { badRequest, notFound } from './errors.ts';
import { type Principal, principalOf } from './principal.ts';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const EMAIL = /^[^\s@]+@[^\s@]+$/;
/** No token or device id is empty or this long: such a secret is refused without a lookup. */
const plausibleSecret = (secret: string) => secret.length > 0 && secret.length <= 256;
/** How often a credential's last-used time is written; more often would cost a commit per request. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Every authenticated request hashes its secret to find it: the one-shot `hash` costs under half
 * of createHash's object and two calls (0.8 against 2.0 µs a token, measured in a loop).
 */
export const hashSecret = (secret: string) => hash('sha256', secret, 'hex');

/**
 * 32 random bytes as base64url, drawn again when the result would start with "-": a command
 * line reads such an argument as an option. Refusing 1 first character of 64 costs 0.02 of
 * 256 bits. (Device ids are hex, which never starts with "-".)
 */
export function newToken(): string {
  for (;;) {
    const token = randomBytes(32).toString('base64url');
    if (!token.startsWith('-')) return token;
  }
}

/** scrypt with a random salt, stored as `scrypt$<salt>$<hash>` (both base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password, salt, 32);
  return `scrypt$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length);
  return timingSafeEqual(actual, expected);
}

/** The rule for a new password: 8 to 1024 characters. */
export function checkNewPassword(password: string): void {
  if (password.length < 8) throw badRequest('A password needs at least 8 characters');
  if (password.length > 1024) throw badRequest('A password has at most 1024 characters');
}

/** A credential that checked out: whom it acts for, and a key naming it that is not the secret. */
export interface Credential {
  principal: Principal;
  key: string;
}

/** Users, their API access tokens and their legacy desktop-client device ids. */
export class AccountsService {
  private readonly lastTouched = new Map<string, number>();
  private readonly principals = new WeakMap<FoundCredential, Credential>();

  constructor(private readonly store: MetadataStore) {}

  async createUser(name: string, options: { email?: string; password?: string } = {}): Promise<UserRow> {
    return this.insertUser(name, await this.prepareUser(name, options), (user) =>
      this.store.users.create(user),
    );
  }

  /**
   * A new user's row, checked against the rules (name, email, password) and with the password
   * hashed, for the caller to insert (a sign-up with an invite inserts it with the invite).
   */
  async prepareUser(
    name: string,
    options: { email?: string; password?: string; isAdmin?: boolean } = {},
  ): Promise<NewUser> {
    if (!USER_NAME.test(name)) {
      throw badRequest(
        'A user name is 1 to 64 letters, digits, "_", "." or "-", starting with a letter or digit',
      );
    }
    if (options.email !== undefined && !EMAIL.test(options.email))
      throw badRequest(`Not an email address: ${options.email}`);
    if (options.password !== undefined) checkNewPassword(options.password);
    await this.requireFreeName(name);
    return {
      uid: randomBytes(12).toString('hex'),
      name,
      email: options.email ?? null,
      passwordHash: options.password === undefined ? null : await hashPassword(options.password),
      ...(options.isAdmin === undefined ? {} : { isAdmin: options.isAdmin }),
    };
  }

  /**
   * Runs an insert of a prepared user; one that lost a race for its name (the unique index
   * refused it) is answered as a taken name, not a server error.
   */
  async insertUser<T>(name: string, user: NewUser, insert: (user: NewUser) => Promise<T>): Promise<T> {
    try {
      return await insert(user);
    } catch (err) {
      await this.requireFreeName(name);
      throw err;
    }
  }

  /** Names differing only in case would pass for one another, so they count as the same name. */
  private async requireFreeName(name: string): Promise<void> {
    const taken = await this.store.users.findByNameIgnoringCase(name);
    if (taken)
      throw badRequest(`User ${taken.name === name ? name : `${name} (or ${taken.name})`} already exists`);
  }

  /** Changes a user's password (8+ characters); the caller ends their other sessions. */
  async setPassword(userId: number, password: string): Promise<void> {
    checkNewPassword(password);
    await this.store.users.setPassword(userId, await hashPassword(password));
  }

  /** Checks a user's current password (to change it, the old one must be given). */
  async checkPassword(userId: number, password: string): Promise<boolean> {
    const user = await this.store.users.findById(userId);
    return !!user?.password_hash && (await verifyPassword(password, user.password_hash));
  }

  listUsers(): Promise<UserRow[]> {
    return this.store.users.list();
  }

  async requireUser(name: string): Promise<UserRow> {
    const user = await this.store.users.findByName(name);
    if (!user) throw notFound(`No user named ${name}`);
    return user;
  }

  /** Returns the new token; only its hash is kept, so this is the one time it can be shown. */
  async createToken(
    userName: string,
    name: string | null = null,
  ): Promise<{ token: string; row: AccessTokenRow }> {
    const user = await this.requireUser(userName);
    const token = newToken();
    const row = await this.store.tokens.create(user.id, hashSecret(token), token.slice(0, 6), name);
    return { token, row };
  }

  async listTokens(userName?: string) {
    if (userName === undefined) return this.store.tokens.listAll();
    const user = await this.requireUser(userName);
    return (await this.store.tokens.listForUser(user.id)).map((t) => ({ ...t, user_name: user.name }));
  }

  /** Revokes by the id shown in a listing, or by the token itself. */
  revokeToken(idOrToken: string): Promise<boolean> {
    return this.store.tokens.revoke(/^\d+$/.test(idOrToken) ? Number(idOrToken) : hashSecret(idOrToken));
  }

  async createDevice(userName: string): Promise<{ deviceId: string; row: DeviceRow }> {
    const user = await this.requireUser(userName);
    // 40 hex characters: never mistaken for a 32-character image id.
    const deviceId = randomBytes(20).toString('hex');
    const row = await this.store.devices.create(user.id, hashSecret(deviceId), deviceId.slice(0, 6));
    return { deviceId, row };
  }

  async listDevices(userName?: string) {
    if (userName === undefined) return this.store.devices.listAll();
    const user = await this.requireUser(userName);
    return (await this.store.devices.listForUser(user.id)).map((d) => ({ ...d, user_name: user.name }));
  }

  revokeDevice(idOrDeviceId: string): Promise<boolean> {
    return this.store.devices.revoke(
      /^\d+$/.test(idOrDeviceId) ? Number(idOrDeviceId) : hashSecret(idOrDeviceId),
    );
  }

  /** Whom an access token acts for, or undefined for an unknown or revoked token. */
  async authenticateToken(token: string): Promise<Principal | undefined> {
    return (await this.checkToken(token))?.principal;
  }

  async authenticateDevice(deviceId: string): Promise<Principal | undefined> {
    return (await this.checkDevice(deviceId))?.principal;
  }

  /** As authenticateToken, with a key that names the credential (for per-credential limits). */
  checkToken(token: string): Promise<Credential | undefined> {
    return this.check(this.store.tokens, token, 'token');
  }

  checkDevice(deviceId: string): Promise<Credential | undefined> {
    return this.check(this.store.devices, deviceId, 'device');
  }

  /**
   * A token's credential when everything it takes is in memory: its kept answer (see check) and
   * its last use written less than a minute ago. No promise; undefined means "ask checkToken",
   * not that the token is unknown.
   */
  keptToken(token: string): Credential | undefined {
    if (!plausibleSecret(token)) return undefined;
    const found = this.store.tokens.cachedByHash(hashSecret(token));
    const credential = found && this.credentialOf(found, 'token');
    return credential && !this.touchDue(credential.key, false) ? credential : undefined;
  }

  /**
   * Every authenticated request comes here: a kept answer is taken without a promise's turn, and
   * its principal is made once for as long as the store keeps that answer (its cache hands out
   * the same object until anything is committed; principals are read-only).
   */
  private async check(
    credentials: CredentialRepository<unknown>,
    secret: string,
    via: 'token' | 'device',
  ): Promise<Credential | undefined> {
    if (!plausibleSecret(secret)) return undefined;
    const hash = hashSecret(secret);
    const found = credentials.cachedByHash(hash) ?? (await credentials.findByHash(hash));
    const credential = found && this.credentialOf(found, via);
    if (!credential) return undefined;
    if (this.touchDue(credential.key, true)) await credentials.touch(found.credentialId, Date.now());
    return credential;
  }

  /** The credential of what was found, made once per kept answer; none for a disabled user. */
  private credentialOf(found: FoundCredential, via: 'token' | 'device'): Credential | undefined {
    if (found.user.disabled_at !== null) return undefined;
    let credential = this.principals.get(found);
    if (!credential) {
      credential =
        via === 'token'
          ? { principal: principalOf(found.user, 'token', found), key: `t${found.credentialId}` }
          : { principal: principalOf(found.user, 'device'), key: `d${found.credentialId}` };
      this.principals.set(found, credential);
    }
    return credential;
  }

  /** Whether a credential's last use is to be written now (at most once a minute each); `take` it. */
  private touchDue(key: string, take: boolean): boolean {
    const now = Date.now();
    if (now - (this.lastTouched.get(key) ?? 0) < TOUCH_INTERVAL_MS) return false;
    if (take) this.lastTouched.set(key, now);
    return true;
  }
}
