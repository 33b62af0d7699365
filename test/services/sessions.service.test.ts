import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountsService, hashSecret } from '../../src/services/accounts.service.ts';
import { SESSION_IDLE_MS, SessionsService } from '../../src/services/sessions.service.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { makeDataDir } from '../helpers/server.ts';

describe('browser sessions', () => {
  let store: MetadataStore;
  let accounts: AccountsService;
  let sessions: SessionsService;

  beforeAll(async () => {
    store = await openSqliteStore(await makeDataDir());
    accounts = new AccountsService(store);
    sessions = new SessionsService(store);
  });
  afterAll(() => store.close());

  it('makes the first user an admin, and nobody after', async () => {
    const first = await accounts.createUser('first', { password: 'first-password' });
    const second = await accounts.createUser('second', { password: 'second-password' });
    expect([first.is_admin, second.is_admin]).toEqual([1, 0]);
  });

  it('signs in with the right password only, and keeps only a hash of the session id', async () => {
    await accounts.createUser('carol', { password: 'carol-password' });
    expect(await sessions.signIn('carol', 'wrong-password')).toBeUndefined();
    expect(await sessions.signIn('nobody', 'carol-password')).toBeUndefined();
    const signedIn = await sessions.signIn('carol', 'carol-password', 'test agent');
    expect(signedIn?.principal).toMatchObject({ name: 'carol', via: 'session', appId: null });
    const id = signedIn?.sessionId as string;
    expect(await store.sessions.findByHash(id)).toBeUndefined();
    expect((await store.sessions.findByHash(hashSecret(id)))?.session.user_agent).toBe('test agent');
    expect((await sessions.resolve(id))?.name).toBe('carol');
  });

  it('refuses an expired session and deletes it', async () => {
    await accounts.createUser('dave', { password: 'dave-password' });
    const { sessionId } = (await sessions.signIn('dave', 'dave-password')) as { sessionId: string };
    const found = await store.sessions.findByHash(hashSecret(sessionId));
    await store.sessions.touch(found?.session.id as number, Date.now() - SESSION_IDLE_MS, Date.now() - 1);
    expect(await sessions.resolve(sessionId)).toBeUndefined();
    expect(await store.sessions.findByHash(hashSecret(sessionId))).toBeUndefined();
  });

  it('a user without a password (made by `gazo user create` without one) cannot sign in', async () => {
    await accounts.createUser('nopass');
    expect(await sessions.signIn('nopass', '')).toBeUndefined();
    expect(await sessions.signIn('nopass', 'anything-at-all')).toBeUndefined();
  });

  it('ends the other sessions of a user and keeps the one named', async () => {
    await accounts.createUser('erin', { password: 'erin-password' });
    const a = (await sessions.signIn('erin', 'erin-password')) as { sessionId: string };
    const b = (await sessions.signIn('erin', 'erin-password')) as { sessionId: string };
    const user = await store.users.findByName('erin');
    expect(await sessions.endOthers(user?.id as number, a.sessionId)).toBe(1);
    expect(await sessions.resolve(a.sessionId)).toBeDefined();
    expect(await sessions.resolve(b.sessionId)).toBeUndefined();
  });
});
