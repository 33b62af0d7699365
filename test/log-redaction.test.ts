import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChildServer, killChildren, runCli, spawnServer } from './helpers/child.ts';
import { makeDataDir } from './helpers/server.ts';

/**
 * What a real `gazo serve` writes to its log at GAZO_LOG_LEVEL=info: every request, with any
 * token-like query parameter redacted wherever the client put it.
 */
describe('the request log', { timeout: 60_000 }, () => {
  let server: ChildServer;
  let token: string;

  beforeAll(async () => {
    const dataDir = await makeDataDir();
    await runCli(['user', 'create', 'alice', '--data-dir', dataDir]);
    token = (await runCli(['token', 'create', 'alice', '--data-dir', dataDir])).stdout.trim();
    expect(token).toMatch(/^[\w-]{40,}$/);
    server = await spawnServer(dataDir, { env: { GAZO_LOG_LEVEL: 'info' } });
  });
  afterAll(killChildren);

  /** Makes the requests, then returns every log line the server wrote for them. */
  async function logOf(paths: string[]): Promise<string> {
    for (const path of paths) {
      const res = await fetch(`${server.url}${path}`);
      await res.arrayBuffer();
    }
    // Lines are written as requests complete; give the pipe a moment.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const done = server
        .output()
        .stdout.split('\n')
        .filter((l) => l.includes('request completed'));
      if (done.length >= paths.length + 1) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return server.output().stdout;
  }

  it('logs each request without the access_token or any other token-like parameter', async () => {
    const secrets = [
      's3cr3t-two',
      's3cr3t-three',
      's3cr3t-four',
      's3cr3t-five',
      's3cr3t-six',
      's3cr3t-seven',
    ];
    const log = await logOf([
      `/api/users/me?access_token=${token}`,
      `/api/images?page=2&token=${secrets[0]}`,
      `/api/oembed?url=keep-me&client_secret=${secrets[1]}&code=${secrets[2]}`,
      // Fastify decodes parameter names, so `access%5Ftoken` is an access_token too.
      `/api/images?access%5Ftoken=${secrets[3]}`,
      `/api/images?ACCESS_TOKEN=${secrets[4]}&refresh_token=${secrets[5]}&x=%zz`,
    ]);
    expect(log).toContain('incoming request');
    expect(log).not.toContain(token);
    for (const secret of secrets) expect(log).not.toContain(secret);
    const urls = log
      .split('\n')
      .filter((l) => l.includes('incoming request'))
      .map((l) => JSON.parse(l).req.url as string);
    expect(urls).toContain('/api/users/me?access_token=[REDACTED]');
    expect(urls).toContain('/api/images?page=2&token=[REDACTED]');
    expect(urls).toContain('/api/oembed?url=keep-me&client_secret=[REDACTED]&code=[REDACTED]');
    expect(urls).toContain('/api/images?access%5Ftoken=[REDACTED]');
    expect(urls).toContain('/api/images?ACCESS_TOKEN=[REDACTED]&refresh_token=[REDACTED]&x=%zz');
  });
});
