import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildServer, killChildren, runCli, spawnServer } from './helpers/child.ts';
import { makeDataDir } from './helpers/server.ts';
import { FormClient } from './helpers/web-forms.ts';

/**
 * `gazo user disable | enable | password` on a data dir that a running `gazo serve` uses: what
 * they change takes effect in that server (sessions, tokens) without a restart.
 */
describe('gazo user disable, enable and password', { timeout: 60_000 }, () => {
  let dataDir: string;
  let server: ChildServer;
  let token: string;
  const gazo = (args: string[], input?: string) => runCli([...args, '--data-dir', dataDir], { input });
  const me = () => fetch(`${server.url}/api/users/me`, { headers: { authorization: `Bearer ${token}` } });
  /** Another process's commit reaches the server's caches within about a second. */
  const eventually = async (check: () => Promise<boolean>) => {
    const deadline = Date.now() + 5000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('the server did not see the change within 5 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    dataDir = await makeDataDir();
    await gazo(['user', 'create', 'root', '--password', 'root password']);
    await gazo(['user', 'create', 'bob', '--password', 'bob password']);
    token = (await gazo(['token', 'create', 'bob'])).stdout.trim();
    server = await spawnServer(dataDir);
  });
  afterAll(killChildren);

  it('disables a user at once (their session and token stop working) and enables them again', async () => {
    const browser = await new FormClient(server.url).signIn('bob', 'bob password');
    expect((await me()).status).toBe(200);
    const disabled = await gazo(['user', 'disable', 'bob']);
    expect(disabled).toMatchObject({ code: 0, stdout: 'disabled user bob\n', stderr: '' });
    await eventually(async () => (await me()).status === 401);
    expect((await browser.get('/account')).status).toBe(303);
    const list = await gazo(['user', 'list']);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+EMAIL\s+IMAGES\s+CREATED\s+ADMIN\s+DISABLED$/);
    expect(list.stdout).toMatch(/\n\d+\s+root\s+-\s+0\s+\S+\s+yes\s+no\n/);
    expect(list.stdout).toMatch(/\n\d+\s+bob\s+-\s+0\s+\S+\s+no\s+\d{4}-\d\d-\d\dT/);

    expect(await gazo(['user', 'enable', 'bob'])).toMatchObject({ code: 0, stdout: 'enabled user bob\n' });
    await eventually(async () => (await me()).status === 200);
    await new FormClient(server.url).signIn('bob', 'bob password');
  });

  it('sets a password from stdin or --password, ending every session of the user', async () => {
    const browser = await new FormClient(server.url).signIn('bob', 'bob password');
    const set = await gazo(['user', 'password', 'bob'], 'piped password\n');
    // The session above and the one the test before left.
    expect(set).toMatchObject({ code: 0, stdout: 'password of bob changed; 2 sessions ended\n', stderr: '' });
    expect((await browser.get('/account')).status).toBe(303);
    const visitor = new FormClient(server.url);
    expect(
      (await visitor.post('/signin', { name: 'bob', password: 'bob password' }, undefined, '/signin')).status,
    ).toBe(401);
    await visitor.signIn('bob', 'piped password');
    expect(await gazo(['user', 'password', 'bob', '--password', 'flag password'])).toMatchObject({ code: 0 });
    await new FormClient(server.url).signIn('bob', 'flag password');
  });

  it('answers mistakes with exit 2 (usage) or 1 (refused), changing nothing', async () => {
    const [noName, noPassword, short, nobody, disableNobody] = await Promise.all([
      gazo(['user', 'password']),
      gazo(['user', 'password', 'root'], ''),
      gazo(['user', 'password', 'root', '--password', 'short']),
      gazo(['user', 'password', 'nobody', '--password', 'long enough']),
      gazo(['user', 'disable', 'nobody']),
    ]);
    expect(noName.code).toBe(2);
    expect(noPassword).toMatchObject({ code: 2, stderr: expect.stringContaining('no password given') });
    expect(short).toMatchObject({ code: 1, stderr: 'gazo: A password needs at least 8 characters\n' });
    expect(nobody).toMatchObject({ code: 1, stderr: 'gazo: No user named nobody\n' });
    expect(disableNobody).toMatchObject({ code: 1, stderr: 'gazo: No user named nobody\n' });
    await new FormClient(server.url).signIn('root', 'root password');
  });
});
