import { expect, it } from 'vitest';
import { AccountsService } from '../../src/services/accounts.service.ts';
import { forEachStore } from '../contracts/stores.ts';

/**
 * Every authenticated request looks its token up: a kept answer is reused as it is (one principal
 * object while nothing is committed), and never outlives a commit that changes what it says.
 */
forEachStore('token lookups from the process cache', (t) => {
  it('gives the same principal while nothing is committed, and a new one with what a commit changed', async () => {
    const accounts = new AccountsService(t.store);
    const user = await accounts.createUser('looked-up');
    const { token } = await accounts.createToken('looked-up');
    // The first use writes the token's last use (a commit: at most once a minute each).
    await accounts.checkToken(token);
    const first = await accounts.checkToken(token);
    expect(first?.key).toMatch(/^t\d+$/);
    expect(first?.principal.userId).toBe(user.id);
    expect(await accounts.checkToken(token)).toBe(first);

    // A commit that changes the user is seen at the next lookup, both ways.
    await t.store.users.setDisabled(user.id, Date.now());
    expect(await accounts.checkToken(token)).toBeUndefined();
    await t.store.users.setDisabled(user.id, null);
    const after = await accounts.checkToken(token);
    expect(after?.principal.userId).toBe(user.id);
    expect(after).not.toBe(first);

    expect(await accounts.revokeToken(token)).toBe(true);
    expect(await accounts.checkToken(token)).toBeUndefined();
  });

  it('keeps a device id and a token of the same user apart', async () => {
    const accounts = new AccountsService(t.store);
    await accounts.createUser('two-keys');
    const { token } = await accounts.createToken('two-keys');
    const { deviceId } = await accounts.createDevice('two-keys');
    await accounts.checkToken(token);
    await accounts.checkDevice(deviceId);
    const viaToken = await accounts.checkToken(token);
    const viaDevice = await accounts.checkDevice(deviceId);
    expect(viaToken?.principal.via).toBe('token');
    expect(viaDevice?.principal.via).toBe('device');
    expect(viaDevice?.key).toMatch(/^d\d+$/);
    expect(await accounts.checkDevice(deviceId)).toBe(viaDevice);
  });

  it('gives a kept token without a promise only once its use is written, and nothing a commit changed', async () => {
    const accounts = new AccountsService(t.store);
    const user = await accounts.createUser('kept');
    const { token } = await accounts.createToken('kept');
    // Not looked up yet, then looked up but its last use not written: both for checkToken to do.
    expect(accounts.keptToken(token)).toBeUndefined();
    const checked = await accounts.checkToken(token);
    expect((await t.store.tokens.listForUser(user.id))[0]?.last_used_at).not.toBeNull();
    // That write emptied the cache; the next lookup keeps the answer again (PostgreSQL's cache
    // answers while its snapshot sample is fresh, hence the poll).
    await expect
      .poll(async () => {
        await accounts.checkToken(token);
        return accounts.keptToken(token);
      })
      .toBeDefined();
    expect(accounts.keptToken(token)?.principal.userId).toBe(checked?.principal.userId);
    expect(accounts.keptToken('x'.repeat(300))).toBeUndefined();

    await t.store.users.setDisabled(user.id, Date.now());
    expect(accounts.keptToken(token)).toBeUndefined();
    await t.store.users.setDisabled(user.id, null);
    expect(await accounts.revokeToken(token)).toBe(true);
    expect(accounts.keptToken(token)).toBeUndefined();
    expect(await accounts.checkToken(token)).toBeUndefined();
  });
});
