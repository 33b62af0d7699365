import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountsService, hashSecret } from '../src/services/accounts.service.ts';
import { openSqliteStore } from '../src/store/index.ts';
import type { MetadataStore } from '../src/store/types.ts';
import { killChildren, runCli } from './helpers/child.ts';
import { makeDataDir } from './helpers/server.ts';

/**
 * Secrets that start with "-" read as options on a command line. New ones never do; old ones
 * (tokens could) are still revoked by `gazo token revoke` / `gazo device revoke`, and no error
 * prints a secret back.
 */
describe('credentials on the command line', { timeout: 120_000 }, () => {
  let dataDir: string;
  let store: MetadataStore;
  let accounts: AccountsService;
  let userId: number;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    store = await openSqliteStore(dataDir);
    accounts = new AccountsService(store);
    userId = (await accounts.createUser('dash')).id;
  });
  afterAll(async () => {
    await store.close();
    await killChildren();
  });

  /** A token as an older Gazo could have made it: 43 base64url characters, this one starting "-". */
  const oldToken = (c: string) => `-${c.repeat(42)}`;
  const addToken = (secret: string) => store.tokens.create(userId, hashSecret(secret), secret.slice(0, 6));
  const addDevice = (secret: string) => store.devices.create(userId, hashSecret(secret), secret.slice(0, 6));

  it('makes tokens and device ids that never start with "-", with all their entropy', async () => {
    const tokens = new Set<string>();
    // One base64url character in 64 is "-": 500 tokens would start with one seven times over.
    for (let i = 0; i < 500; i++) tokens.add((await accounts.createToken('dash')).token);
    expect(tokens.size).toBe(500);
    for (const token of tokens) {
      expect(token).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{42}$/);
    }
    // Every other character still takes all 64 values.
    const seen = new Set([...tokens].flatMap((t) => [...t.slice(1)]));
    expect(seen.size).toBe(64);
    for (let i = 0; i < 50; i++) {
      expect((await accounts.createDevice('dash')).deviceId).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  it.each([
    ['as it is', 'a', (secret: string) => ['token', 'revoke', secret, '--data-dir', dataDir]],
    ['after --', 'b', (secret: string) => ['token', 'revoke', '--data-dir', dataDir, '--', secret]],
    ['before --data-dir=', 'c', (secret: string) => ['token', 'revoke', secret, `--data-dir=${dataDir}`]],
  ])('revokes a token that starts with "-" given %s', async (_label, fill, argv) => {
    const secret = oldToken(fill);
    await addToken(secret);
    expect(await accounts.authenticateToken(secret)).toBeDefined();
    const result = await runCli(argv(secret));
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('revoked\n');
    expect(result.code).toBe(0);
    expect(await accounts.authenticateToken(secret)).toBeUndefined();
  });

  it('revokes a device id that starts with "-"', async () => {
    const secret = `-${'d'.repeat(39)}`;
    await addDevice(secret);
    const result = await runCli(['device', 'revoke', secret, '--data-dir', dataDir]);
    expect(result.stdout).toBe('revoked\n');
    expect(await accounts.authenticateDevice(secret)).toBeUndefined();
  });

  it('never prints the secret it was given back in an error', async () => {
    const secret = `-${'Q'.repeat(20)}${'R'.repeat(22)}`;
    // Not found is a failure (1); a malformed command line is a usage error (2).
    for (const [argv, code] of [
      [['token', 'revoke', secret, '--data-dir', dataDir], 1],
      [['device', 'revoke', secret, '--data-dir', dataDir], 1],
      [['token', 'revoke', secret, 'extra', '--data-dir', dataDir], 2],
      [['token', 'revoke', '--data-dir', dataDir, secret, '--bogus'], 2],
    ] as Array<[string[], number]>) {
      const result = await runCli(argv);
      expect(result.code, result.stderr).toBe(code);
      expect(result.stderr).not.toMatch(/Q{10}|R{10}/);
      expect(result.stdout).toBe('');
    }
  });
});
