import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/http/log-redaction.ts';
import { AccountsService } from '../../src/services/accounts.service.ts';
import { ServiceError } from '../../src/services/errors.ts';
import { type Principal, principalOf } from '../../src/services/principal.ts';
import { INVITE_LIFETIME_MS, RegistrationService } from '../../src/services/registration.service.ts';
import { SessionsService } from '../../src/services/sessions.service.ts';
import { UsersService } from '../../src/services/users.service.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { makeDataDir } from '../helpers/server.ts';

let store: MetadataStore;
let accounts: AccountsService;
let sessions: SessionsService;
let users: UsersService;
const registration = (mode: 'open' | 'closed') => new RegistrationService(store, accounts, sessions, mode);

beforeEach(async () => {
  store = await openSqliteStore(await makeDataDir());
  accounts = new AccountsService(store);
  sessions = new SessionsService(store);
  users = new UsersService(store, sessions);
});
afterEach(() => store.close());

const PASSWORD = 'correct horse';
async function principal(name: string): Promise<Principal> {
  const row = await store.users.findByName(name);
  if (!row) throw new Error(`no ${name}`);
  return principalOf(row, 'session');
}
async function refusal(promise: Promise<unknown>): Promise<{ status: number; message: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServiceError);
  return { status: (err as ServiceError).status, message: (err as ServiceError).message };
}

describe('changing a password', () => {
  it('needs the current password, keeps the asking session and ends every other', async () => {
    await accounts.createUser('alice', { password: PASSWORD });
    const here = await sessions.signIn('alice', PASSWORD);
    const elsewhere = await sessions.signIn('alice', PASSWORD);
    const alice = await principal('alice');

    expect(await users.changePassword(alice, here?.sessionId, 'wrong one', 'new password 1')).toBeUndefined();
    expect(await sessions.resolve(elsewhere?.sessionId as string)).toBeDefined();
    expect(await sessions.signIn('alice', PASSWORD)).toBeDefined();

    expect(await users.changePassword(alice, here?.sessionId, PASSWORD, 'new password 1')).toEqual({
      endedSessions: 2,
    });
    expect(await sessions.resolve(here?.sessionId as string)).toBeDefined();
    expect(await sessions.resolve(elsewhere?.sessionId as string)).toBeUndefined();
    expect(await sessions.signIn('alice', PASSWORD)).toBeUndefined();
    expect(await sessions.signIn('alice', 'new password 1')).toBeDefined();
  });

  it('refuses a short new password before looking at the current one', async () => {
    await accounts.createUser('alice', { password: PASSWORD });
    const alice = await principal('alice');
    expect(await refusal(users.changePassword(alice, undefined, 'wrong', 'short'))).toMatchObject({
      status: 400,
      message: expect.stringContaining('8 characters'),
    });
    expect(await sessions.signIn('alice', PASSWORD)).toBeDefined();
  });
});

describe('disabling users and admin rights', () => {
  beforeEach(async () => {
    await accounts.createUser('root', { password: PASSWORD });
    await accounts.createUser('bob', { password: PASSWORD });
  });

  it('ends all sessions of a disabled user, and only an admin may do it', async () => {
    const root = await principal('root');
    const bob = await principal('bob');
    expect(root.isAdmin).toBe(true);
    expect(bob.isAdmin).toBe(false);
    const session = await sessions.signIn('bob', PASSWORD);
    expect(await refusal(users.disable(bob, root.userId))).toMatchObject({ status: 404 });
    expect(await refusal(users.list(bob))).toMatchObject({ status: 404 });

    await users.disable(root, bob.userId);
    expect(await sessions.resolve(session?.sessionId as string)).toBeUndefined();
    expect(await store.sessions.listForUser(bob.userId, Date.now())).toEqual([]);
    expect(await sessions.signIn('bob', PASSWORD)).toBeUndefined();
    await users.enable(root, bob.userId);
    expect(await sessions.signIn('bob', PASSWORD)).toBeDefined();
  });

  it('never lets an admin disable or demote themselves, nor the last admin who can sign in', async () => {
    const root = await principal('root');
    expect(await refusal(users.disable(root, root.userId))).toMatchObject({ status: 400 });
    expect(await refusal(users.revokeAdmin(root, root.userId))).toMatchObject({ status: 400 });
    await users.grantAdmin(root, (await principal('bob')).userId);
    const bob = await principal('bob');
    expect(bob.isAdmin).toBe(true);
    // Two admins disabling each other at the same moment: one of them must stay.
    const results = await Promise.allSettled([
      users.disable(root, bob.userId),
      users.disable(bob, root.userId),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await store.users.hasActiveAdmin()).toBe(true);
    const active = (await store.users.list()).filter((u) => u.disabled_at === null);
    expect(active).toHaveLength(1);
    const survivor = await principal(active[0]?.name as string);
    const other = survivor.name === 'root' ? bob : root;
    // The one left cannot be demoted by the disabled one, nor demote themselves.
    expect(await refusal(users.revokeAdmin(survivor, survivor.userId))).toMatchObject({ status: 400 });
    // A disabled admin who is enabled again is an admin again.
    await users.enable(survivor, other.userId);
    expect(await store.users.hasActiveAdmin()).toBe(true);
  });

  it('lets the operator disable anyone, the last admin included', async () => {
    const root = await principal('root');
    await users.disable('operator', root.userId);
    expect(await store.users.hasActiveAdmin()).toBe(false);
    await users.enable('operator', root.userId);
    expect(await sessions.signIn('root', PASSWORD)).toBeDefined();
  });

  it('resets a password for the operator, ending every session', async () => {
    await sessions.signIn('bob', PASSWORD);
    expect(await users.resetPassword('bob', 'another password')).toEqual({ endedSessions: 1 });
    expect(await sessions.signIn('bob', 'another password')).toBeDefined();
    expect(await refusal(users.resetPassword('nobody', 'another password'))).toMatchObject({ status: 404 });
  });
});

describe('registration', () => {
  it('is closed by default and open sign-up makes a signed-in user who is no admin', async () => {
    await accounts.createUser('root', { password: PASSWORD });
    const form = { name: 'carol', password: PASSWORD };
    expect(await refusal(registration('closed').signUp(form))).toMatchObject({ status: 404 });
    expect(await store.users.findByName('carol')).toBeUndefined();
    const signedIn = await registration('open').signUp({ ...form, email: 'carol@example.com' }, 'UA/1');
    expect(signedIn.principal).toMatchObject({ name: 'carol', email: 'carol@example.com', isAdmin: false });
    expect(await sessions.resolve(signedIn.sessionId)).toMatchObject({ name: 'carol' });
  });

  it('refuses open sign-up on a server without an admin: a stranger must not become its admin', async () => {
    expect(await refusal(registration('open').signUp({ name: 'mallory', password: PASSWORD }))).toMatchObject(
      { status: 403, message: expect.stringContaining('gazo user create') },
    );
    expect(await store.users.list()).toEqual([]);
    await accounts.createUser('root', { password: PASSWORD });
    expect((await store.users.findByName('root'))?.is_admin).toBe(1);
  });

  it('refuses a name that differs from a taken one only in case, and the name rules', async () => {
    await accounts.createUser('root', { password: PASSWORD });
    await accounts.createUser('alice', { password: PASSWORD });
    const open = registration('open');
    for (const name of ['Alice', 'ALICE', 'alice']) {
      expect(await refusal(open.signUp({ name, password: PASSWORD }))).toMatchObject({
        status: 400,
        message: expect.stringContaining('already exists'),
      });
    }
    expect(await refusal(open.signUp({ name: '-x', password: PASSWORD }))).toMatchObject({ status: 400 });
    expect(await refusal(open.signUp({ name: 'ok', password: 'short' }))).toMatchObject({ status: 400 });
    expect(await refusal(open.signUp({ name: 'ok', password: PASSWORD, email: 'no' }))).toMatchObject({
      status: 400,
    });
    expect((await store.users.list()).map((u) => u.name)).toEqual(['root', 'alice']);
  });

  it('makes single-use invites that expire, stored hashed, usable while registration is closed', async () => {
    await accounts.createUser('root', { password: PASSWORD });
    await accounts.createUser('bob', { password: PASSWORD });
    const root = await principal('root');
    const closed = registration('closed');
    expect(await refusal(closed.createInvite(await principal('bob')))).toMatchObject({ status: 404 });

    const { token, invite } = await closed.createInvite(root);
    expect(token).toMatch(/^[\w-]{43}$/);
    expect(invite.invite_hash).not.toContain(token);
    expect(invite.expires_at - invite.created_at).toBe(INVITE_LIFETIME_MS);
    expect((await closed.listInvites(root)).map((i) => i.id)).toEqual([invite.id]);

    // A refused sign-up (name taken) leaves the invite usable.
    expect(await refusal(closed.signUpWithInvite(token, { name: 'bob', password: PASSWORD }))).toMatchObject({
      status: 400,
    });
    // Two people signing up with one link at once: exactly one gets an account.
    const both = await Promise.all([
      closed.signUpWithInvite(token, { name: 'dave', password: PASSWORD }),
      closed.signUpWithInvite(token, { name: 'erin', password: PASSWORD }),
    ]);
    const made = both.filter((b) => b !== undefined);
    expect(made).toHaveLength(1);
    expect(made[0]?.principal.isAdmin).toBe(false);
    const names = (await store.users.list()).map((u) => u.name);
    expect(names.filter((n) => n === 'dave' || n === 'erin')).toEqual([made[0]?.principal.name]);
    expect(await closed.findInvite(token)).toBeUndefined();
    expect(await closed.listInvites(root)).toEqual([]);
    const used = await store.invites.findUsable(invite.invite_hash, 0);
    expect(used).toBeUndefined();
    expect(await closed.signUpWithInvite(token, { name: 'frank', password: PASSWORD })).toBeUndefined();
    expect(await store.users.findByName('frank')).toBeUndefined();
  });

  it('marks the invite used by the new user, and refuses an expired or revoked one', async () => {
    await accounts.createUser('root', { password: PASSWORD });
    const root = await principal('root');
    const closed = registration('closed');
    const { token, invite } = await closed.createInvite(root);
    const signedIn = await closed.signUpWithInvite(token, { name: 'gina', password: PASSWORD });
    const rows = await store.invites.listUsable(0);
    expect(rows).toEqual([]);
    const usedRow = (await store.users.findByName('gina'))?.id;
    expect(usedRow).toBe(signedIn?.principal.userId);
    // Seen from the table itself: used_by and used_at were written with the user.
    const { token: expiring, invite: old } = await closed.createInvite(root);
    expect(await store.invites.findUsable(old.invite_hash, old.expires_at)).toBeUndefined();
    expect(
      await store.invites.redeem(old.invite_hash, old.expires_at, await accounts.prepareUser('hal')),
    ).toBe(undefined);
    expect(await store.users.findByName('hal')).toBeUndefined();
    await closed.revokeInvite(root, old.id);
    expect(await closed.signUpWithInvite(expiring, { name: 'ivan', password: PASSWORD })).toBeUndefined();
    expect(await refusal(closed.revokeInvite(root, invite.id))).toMatchObject({ status: 404 });
  });
});

describe('the request log', () => {
  it('never writes an invite link token', () => {
    expect(redactUrl('/invite/SECRETTOKEN')).toBe('/invite/[REDACTED]');
    expect(redactUrl('/invite/SECRETTOKEN?x=1&token=2')).toBe('/invite/[REDACTED]?x=1&token=[REDACTED]');
    expect(redactUrl('/account')).toBe('/account');
  });
});
