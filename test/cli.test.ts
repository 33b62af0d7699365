import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHILDREN_RUN_SOURCES,
  type ChildServer,
  type CliResult,
  freePort,
  killChildren,
  runCli,
  spawnServer,
} from './helpers/child.ts';
import { solidPng } from './helpers/images.ts';
import { form, makeDataDir } from './helpers/server.ts';

/**
 * The CLI as users run it: `node bin/gazo.js …` in its own process, with a `gazo serve` child
 * running on the same data dir the whole time (started from GAZO_DATA_DIR / GAZO_PORT alone).
 * Spawns cost about a second each, so independent commands run side by side.
 */

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The ID column of the table row that contains `needle`. */
function idOfRow(table: string, needle: string): string {
  const line = table.split('\n').find((l) => l.includes(needle));
  const id = line?.split(/\s+/)[0];
  if (!id || !/^\d+$/.test(id)) throw new Error(`no row with ${needle} in:\n${table}`);
  return id;
}

function expectOk(result: CliResult) {
  expect(result.stderr, result.stderr).toBe('');
  expect(result.code).toBe(0);
}

function expectFailure(result: CliResult, message: RegExp) {
  expect(result.code, `stdout: ${result.stdout}`).not.toBe(0);
  expect(result.code).not.toBeNull();
  expect(result.stderr).toMatch(message);
  expect(result.stdout).toBe('');
}

// Every command is a process start (about a second, more on a busy machine).
describe('gazo CLI', { timeout: 120_000 }, () => {
  let dataDir: string;
  let server: ChildServer;
  const gazo = (...args: string[]) => runCli([...args, '--data-dir', dataDir]);
  const me = (token: string) =>
    fetch(`${server.url}/api/users/me`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    dataDir = await makeDataDir();
    const port = await freePort();
    server = await spawnServer(undefined, {
      args: ['serve'],
      env: { GAZO_DATA_DIR: dataDir, GAZO_PORT: String(port) },
      port,
    });
  });

  afterAll(async () => {
    await killChildren();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('gazo serve says where it listens and where its data is (from GAZO_PORT, GAZO_DATA_DIR)', async () => {
    const deadline = Date.now() + 5000;
    while (!server.output().stdout.includes('\n') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const { stdout } = server.output();
    expect(stdout).toContain(`Gazo listening on http://127.0.0.1:${server.port}`);
    expect(stdout).toContain(`data in ${dataDir}`);
    await expect(fs.stat(path.join(dataDir, 'gazo.sqlite'))).resolves.toBeTruthy();
  });

  it('user create and user list (GAZO_DATA_DIR works for them too)', async () => {
    const [alice, bob] = await Promise.all([
      gazo('user', 'create', 'alice', '--email', 'alice@example.com', '--password', 'correct horse'),
      gazo('user', 'create', 'bob'),
    ]);
    expectOk(alice);
    expect(alice.stdout).toMatch(/^created user alice \(id \d+\)\n$/);
    expectOk(bob);

    const list = await runCli(['user', 'list'], { env: { GAZO_DATA_DIR: dataDir } });
    expectOk(list);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+EMAIL\s+IMAGES\s+CREATED\s+ADMIN\s+DISABLED$/);
    // Other tests add users of their own: look for these two rows, once each.
    expect(lines.filter((l) => /^\d+\s+alice\s+alice@example\.com\s+0\s/.test(l))).toHaveLength(1);
    expect(lines.filter((l) => /^\d+\s+bob\s+-\s+0\s/.test(l))).toHaveLength(1);
    // The password is stored hashed too.
    expect(list.stdout).not.toContain('correct horse');
  });

  it('errors exit non-zero with a message on stderr, and change nothing', async () => {
    expectOk(await gazo('user', 'create', 'erin'));
    const [duplicate, badEmail, noUser, noDevice, badPort] = await Promise.all([
      gazo('user', 'create', 'erin'),
      gazo('user', 'create', 'carol', '--email', 'not-an-email'),
      gazo('token', 'create', 'nobody'),
      gazo('device', 'revoke', '99999'),
      runCli(['serve', '--port', 'eighty', '--data-dir', dataDir]),
    ]);
    expectFailure(duplicate, /^gazo: User erin already exists\n$/);
    expectFailure(badEmail, /^gazo: Not an email address: not-an-email\n$/);
    expectFailure(noUser, /^gazo: No user named nobody\n$/);
    expectFailure(noDevice, /^gazo: No such device\n$/);
    expectFailure(badPort, /^gazo: port must be a whole number, got "eighty"\n$/);
    const users = await gazo('user', 'list');
    expect(users.stdout.match(/\serin\s/g)).toHaveLength(1);
    expect(users.stdout).not.toMatch(/\s(carol|nobody)\s/);
  });

  it('token create prints the token alone; only its hash is stored; list and revoke', async () => {
    expectOk(await gazo('user', 'create', 'tina'));
    const [first, second] = await Promise.all([
      gazo('token', 'create', 'tina', '--name', 'laptop'),
      gazo('token', 'create', 'tina'),
    ]);
    expectOk(first);
    expectOk(second);
    // One line, nothing else: `TOKEN=$(gazo token create alice)` must just work.
    expect(first.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    expect(second.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    const laptop = first.stdout.trim();
    const other = second.stdout.trim();
    expect(laptop).not.toBe(other);

    // The running server accepts both at once.
    for (const token of [laptop, other]) {
      const res = await me(token);
      expect(res.status).toBe(200);
      expect((await res.json()).user.name).toBe('tina');
    }

    // The database holds hashes: neither token appears in the table nor anywhere in the files.
    const db = new Database(path.join(dataDir, 'gazo.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const rows = db
        .prepare(
          'SELECT access_tokens.* FROM access_tokens JOIN users ON users.id = user_id WHERE users.name = ?',
        )
        .all('tina') as Array<Record<string, unknown>>;
      expect(rows).toHaveLength(2);
      const dump = JSON.stringify(rows);
      for (const token of [laptop, other]) {
        expect(dump).not.toContain(token);
        expect(rows.some((r) => r.token_hash === sha256(token))).toBe(true);
      }
    } finally {
      db.close();
    }
    for (const file of ['gazo.sqlite', 'gazo.sqlite-wal']) {
      const bytes = await fs.readFile(path.join(dataDir, file)).catch(() => Buffer.alloc(0));
      for (const token of [laptop, other]) expect(bytes.includes(token)).toBe(false);
    }

    const list = await gazo('token', 'list', 'tina');
    expectOk(list);
    expect(list.stdout).toMatch(/^ID\s+USER\s+TOKEN\s+NAME\s+CREATED\s+LAST USED\n/);
    expect(list.stdout).toContain(`${laptop.slice(0, 6)}…`);
    expect(list.stdout).toMatch(/laptop/);
    expect(list.stdout).not.toContain(laptop);
    expect(list.stdout).not.toContain(other);
    const laptopId = idOfRow(list.stdout, 'laptop');

    // Revoke one by its listed id and the other by the token itself.
    const [byId, byToken] = await Promise.all([
      gazo('token', 'revoke', laptopId),
      gazo('token', 'revoke', other),
    ]);
    expectOk(byId);
    expect(byId.stdout).toBe('revoked\n');
    expectOk(byToken);
    for (const token of [laptop, other]) expect((await me(token)).status).toBe(401);
  });

  it('device create prints a device id that works with upload.cgi; list and revoke', async () => {
    expectOk(await gazo('user', 'create', 'dana'));
    const created = await gazo('device', 'create', 'dana');
    expectOk(created);
    expect(created.stdout).toMatch(/^[0-9a-f]{40}\n$/);
    const deviceId = created.stdout.trim();

    const png = await solidPng(40, 30, '#884422');
    const upload = () =>
      fetch(`${server.url}/upload.cgi`, {
        method: 'POST',
        body: form({ id: deviceId, imagedata: { data: png, filename: 'gyazo.com' } }),
      });
    const res = await upload();
    expect(res.status).toBe(200);
    expect(res.headers.get('x-gyazo-id')).toBe(deviceId);
    const permalink = await res.text();
    expect(permalink).toMatch(new RegExp(`^${server.url}/[0-9a-f]{32}$`));
    expect((await fetch(permalink)).status).toBe(200);

    const [list, users] = await Promise.all([gazo('device', 'list'), gazo('user', 'list')]);
    expectOk(list);
    expect(list.stdout).toMatch(/^ID\s+USER\s+DEVICE\s+CREATED\s+LAST USED\n/);
    expect(list.stdout).toContain(`${deviceId.slice(0, 6)}…`);
    expect(list.stdout).not.toContain(deviceId);
    // The upload went to dana's account.
    expect(users.stdout).toMatch(/\sdana\s+-\s+1\s/);

    const revoked = await gazo('device', 'revoke', idOfRow(list.stdout, deviceId.slice(0, 6)));
    expectOk(revoked);
    expect(revoked.stdout).toBe('revoked\n');
    expect((await upload()).status).toBe(401);
  });

  // Its process runs dist/ when the build is fresh (always in CI), src/ when not: both must serve
  // the pages whole. A build once left gazo.css out, and every page answered 500.
  it(`serves the front and sign-in pages and every asset they link (${CHILDREN_RUN_SOURCES ? 'the sources' : 'the build'})`, async () => {
    for (const page of ['/', '/signin']) {
      const res = await fetch(`${server.url}${page}`);
      expect(res.status, page).toBe(200);
      const assets = [...(await res.text()).matchAll(/"(\/assets\/[^"?]+)\?v=/g)].map((m) => m[1]);
      expect(assets, page).toContain('/assets/gazo.css');
      for (const asset of new Set(assets))
        expect((await fetch(`${server.url}${asset}`)).status, asset).toBe(200);
    }
  });

  it('npx gazo --help works from the repo root', async () => {
    const help = await runCli(['--help'], { command: ['npx', '--no-install', 'gazo'] });
    expect(help.code).toBe(0);
    for (const command of ['serve', 'user', 'token', 'device'])
      expect(help.stdout).toMatch(new RegExp(`\\n  ${command}\\b`));
  });

  it('the server kept running through all of it', async () => {
    expect(server.proc.exitCode).toBeNull();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
