import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GazoImage } from '../../src/client/index.ts';
import { type CliResult, cleanEnv, GAZO_BIN, killChildren, REPO_ROOT, runCli } from '../helpers/child.ts';
import { solidPng } from '../helpers/images.ts';
import { makeDataDir, startServer, type TestServer } from '../helpers/server.ts';

/**
 * The client commands as scripts and people run them: `node bin/gazo.js …` in its own process
 * against a real server, with a profile in a temporary XDG_CONFIG_HOME. Independent commands
 * run side by side (each start costs about a second).
 */
describe('gazo client commands', { timeout: 120_000 }, () => {
  let server: TestServer;
  let token: string;
  let home: string;
  let png: string;
  let pngBytes: Buffer;
  const env = () => ({ XDG_CONFIG_HOME: home });
  const gazo = (args: string[], extra: { input?: string | Buffer; env?: Record<string, string> } = {}) =>
    runCli(args, { env: { ...env(), ...extra.env }, input: extra.input });
  const ok = (r: CliResult) => {
    expect(r.stderr, r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    server = await startServer();
    ({ token } = await server.user('cli-carol'));
    home = await makeDataDir();
    pngBytes = await solidPng(33, 22, '#224466');
    png = path.join(home, 'shot.png');
    await fs.writeFile(png, pngBytes);
  });
  afterAll(async () => {
    await killChildren();
    await server.close();
  });

  it('login checks the token, saves the profile with mode 0600, and reads a piped token', async () => {
    const [refused, notLoggedIn, badUrl] = await Promise.all([
      gazo(['login', server.url, '--token', 'wrong']),
      gazo(['list']),
      gazo(['login', 'ftp://example.com', '--token', token]),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not authorized/i);
    expect(notLoggedIn.code).toBe(1);
    expect(notLoggedIn.stderr).toMatch(/not logged in: run `gazo login SERVER_URL`/);
    expect(badUrl.code).toBe(2);
    const file = path.join(home, 'gazo', 'config.json');
    await expect(fs.stat(file)).rejects.toThrow(); // nothing saved for a refused token

    expect(ok(await gazo(['login', `${server.url}/`], { input: `${token}\n` }))).toMatch(
      /^logged in to http:\/\/127\.0\.0\.1:\d+ as cli-carol; saved in .*config\.json\n$/,
    );
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await fs.readFile(file, 'utf8'))).toEqual({ server: server.url, token });
  });

  it('upload prints each permalink, or the image objects with --json; reads stdin with -', async () => {
    const [plain, json, stdin] = await Promise.all([
      gazo(['upload', png, png, '--title', 'two of them']),
      gazo(['upload', png, '--json', '--private', '--desc', 'secret']),
      gazo(['upload', '-'], { input: pngBytes }),
    ]);
    const links = ok(plain).trim().split('\n');
    expect(links).toHaveLength(2);
    for (const link of links) expect(link).toMatch(new RegExp(`^${server.url}/[0-9a-f]{32}$`));
    const image = JSON.parse(ok(json)) as GazoImage;
    expect(image).toMatchObject({ access_policy: 'only_me', metadata: { desc: 'secret' } });
    expect(ok(stdin)).toMatch(new RegExp(`^${server.url}/[0-9a-f]{32}\n$`));

    const missing = await gazo(['upload', path.join(home, 'nope.png'), png]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.png: ENOENT/);
    expect(missing.stdout.trim().split('\n')).toHaveLength(1); // the good file was still uploaded
  });

  it('list, search and get print tables, or JSON with --json', async () => {
    const [table, json, all, search, searchJson] = await Promise.all([
      gazo(['list', '--per-page', '2']),
      gazo(['list', '--json']),
      gazo(['list', '--all', '--per-page', '1', '--json']),
      gazo(['search', 'two of']),
      gazo(['search', 'secret', '--json']),
    ]);
    const rows = ok(table).trim().split('\n');
    expect(rows[0]).toMatch(/^IMAGE_ID\s+CREATED\s+TYPE\s+ACCESS\s+TITLE\s+PERMALINK$/);
    expect(rows).toHaveLength(4);
    expect(rows[3]).toMatch(/^page 1 of \d+ \(\d+ images\)$/);
    const listed = JSON.parse(ok(json)) as GazoImage[];
    expect(listed.length).toBeGreaterThanOrEqual(5);
    expect((JSON.parse(ok(all)) as GazoImage[]).map((i) => i.image_id)).toEqual(
      listed.map((i) => i.image_id),
    );
    expect(ok(search)).toMatch(/two of them/);
    expect((JSON.parse(ok(searchJson)) as GazoImage[]).map((i) => i.metadata.desc)).toEqual(['secret']);

    const secret = listed.find((i) => i.metadata.desc === 'secret') as GazoImage;
    const out = path.join(home, 'got.png');
    const [details, detailsJson, saved, usage] = await Promise.all([
      gazo(['get', secret.image_id]),
      gazo(['get', secret.image_id, '--json']),
      gazo(['get', secret.image_id, '-o', out]),
      gazo(['list', '--page', '0']),
    ]);
    expect(ok(details)).toMatch(/access_policy\s+only_me/);
    expect(JSON.parse(ok(detailsJson))).toEqual(secret);
    expect(saved.code).toBe(0);
    expect((await fs.readFile(out)).equals(pngBytes)).toBe(true);
    expect(usage.code).toBe(2);
    expect(usage.stdout).toBe('');
  });

  it('delete removes each image and exits 1 when one fails; GAZO_SERVER/GAZO_TOKEN override the profile', async () => {
    const listed = JSON.parse(ok(await gazo(['list', '--json']))) as GazoImage[];
    const victim = listed[0] as GazoImage;
    const [deleted, other] = await Promise.all([
      gazo(['delete', victim.image_id, 'f'.repeat(32)]),
      gazo(['list'], { env: { GAZO_TOKEN: 'revoked-or-wrong' } }),
    ]);
    expect(deleted.code).toBe(1);
    expect(deleted.stdout).toBe(`deleted ${victim.image_id}\n`);
    expect(deleted.stderr).toMatch(/f{32}: image not found/);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/not authorized/i);
    expect(await server.rt.store.images.findByImageId(victim.image_id)).toBeUndefined();

    // An empty config dir: the environment alone is a profile.
    const { token: daveToken } = await server.user('cli-dave');
    const alone = await runCli(['list', '--json'], {
      env: { XDG_CONFIG_HOME: await makeDataDir(), GAZO_SERVER: server.url, GAZO_TOKEN: daveToken },
    });
    expect(JSON.parse(ok(alone))).toEqual([]);
  });

  it('never sends the saved token to another server named by GAZO_SERVER', async () => {
    const seen: Array<string | undefined> = [];
    const other = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = other.address() as { port: number };
      const result = await gazo(['list'], { env: { GAZO_SERVER: `http://127.0.0.1:${port}` } });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/not logged in/);
      expect(seen).toEqual([]);
    } finally {
      other.close();
    }
  });
});

describe('on a terminal', { timeout: 60_000 }, () => {
  it('login asks for the token and does not echo it', async () => {
    const server = await startServer();
    try {
      const { token } = await server.user('tty-judy');
      const home = await makeDataDir();
      const child = spawn(
        '/usr/bin/script',
        ['-qec', `'${process.execPath}' '${GAZO_BIN}' login ${server.url}`, '/dev/null'],
        {
          cwd: REPO_ROOT,
          env: cleanEnv({ XDG_CONFIG_HOME: home }),
        },
      );
      let out = '';
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        // Typed only once the prompt is up, as a person would: the terminal is in raw mode by then.
        if (!out.includes('Access token: ') && (out + d).includes('Access token: '))
          child.stdin.write(`${token}\r`);
        out += d;
      });
      expect(await exited).toBe(0);
      expect(out).toMatch(/logged in to .* as tty-judy/);
      expect(out).not.toContain(token);
      const saved = JSON.parse(await fs.readFile(path.join(home, 'gazo', 'config.json'), 'utf8'));
      expect(saved.token).toBe(token);
    } finally {
      await server.close();
    }
  });

  it('is drawn when stdout is a terminal', async () => {
    const server = await startServer();
    try {
      const { token } = await server.user('tty-ivan');
      const dir = await makeDataDir();
      const files = [path.join(dir, 'a.png'), path.join(dir, 'b.png')];
      await fs.writeFile(files[0] as string, await solidPng(7, 7, '#101010'));
      await fs.writeFile(files[1] as string, await solidPng(8, 8, '#202020'));
      // script(1) runs the command on a pseudo-terminal, as a person at a terminal would.
      const command = [process.execPath, GAZO_BIN, 'upload', ...files].map((a) => `'${a}'`).join(' ');
      const result = await runCli(['-qec', command, '/dev/null'], {
        command: ['/usr/bin/script'],
        env: { GAZO_SERVER: server.url, GAZO_TOKEN: token },
      });
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/uploading \[[^\]]*\] [\d.]+ MiB\/[\d.]+ MiB/);
      expect(result.stdout.match(new RegExp(`${server.url}/[0-9a-f]{32}`, 'g'))).toHaveLength(2);
    } finally {
      await server.close();
    }
  });
});
