import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.ts';

const run = promisify(execFile);
const PRELOAD = path.resolve('src/preload/gyazo-hosts.ts');

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.close());

/** Runs `script` in a fresh Node with the preload, as a user would run a hard-coded Gyazo client. */
async function withPreload(script: string, env: Record<string, string>) {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--import', PRELOAD, '--input-type=module', '-e', script],
    { env: { ...process.env, ...env }, timeout: 30_000 },
  );
  return JSON.parse(stdout.trim());
}

describe('gazo/gyazo-hosts: pointing clients with hard-coded Gyazo hosts at Gazo', () => {
  it('sends fetch calls to api.gyazo.com and upload.gyazo.com (as the Gyazo MCP server makes them) to Gazo', async () => {
    const user = await server.user();
    // The calls the official MCP server makes: upload with FormData, then list and search.
    const script = `
      const { solidPng } = await import(${JSON.stringify(path.resolve('test/helpers/images.ts'))});
      const form = new FormData();
      form.append('imagedata', new File([await solidPng(40, 30, '#336699')], 'screenshot.png', { type: 'image/png' }));
      form.append('title', 'from the MCP server');
      form.append('access_token', process.env.TOKEN);
      const up = await fetch('https://upload.gyazo.com/api/upload', { method: 'POST', body: form });
      const list = await fetch('https://api.gyazo.com/api/images?access_token=' + process.env.TOKEN + '&page=1&per_page=10');
      console.log(JSON.stringify({ up: up.status, uploaded: await up.json(), list: await list.json() }));
    `;
    const out = await withPreload(script, { GAZO_URL: server.url, TOKEN: user.token });
    expect(out.up).toBe(200);
    expect(out.uploaded.permalink_url.startsWith(server.url)).toBe(true);
    expect(out.list.map((i: { image_id: string }) => i.image_id)).toEqual([out.uploaded.image_id]);
  });

  it('sends the npm gyazo-api client (request over https.request) to Gazo, unchanged', async () => {
    const user = await server.user();
    const script = `
      import { createRequire } from 'node:module';
      const require = createRequire(${JSON.stringify(path.resolve('package.json'))});
      const Gyazo = require('gyazo-api');
      const { solidPng } = await import(${JSON.stringify(path.resolve('test/helpers/images.ts'))});
      const client = new Gyazo(process.env.TOKEN);
      const up = await client.upload(await solidPng(20, 20, '#aa0000'), { title: 'from gyazo-api' });
      const list = await client.list({ page: 1, per_page: 5 });
      console.log(JSON.stringify({ status: up.response.statusCode, uploaded: up.data, list: list.data }));
    `;
    const out = await withPreload(script, { GAZO_URL: server.url, TOKEN: user.token });
    expect(out.status).toBe(200);
    expect(out.uploaded.metadata.title).toBe('from gyazo-api');
    expect(out.list.map((i: { image_id: string }) => i.image_id)).toEqual([out.uploaded.image_id]);
  });

  it('leaves every other host alone, and refuses to start without GAZO_URL', async () => {
    const script = `
      const res = await fetch(${JSON.stringify(`${server.url}/healthz`)});
      console.log(JSON.stringify(await res.json()));
    `;
    expect(await withPreload(script, { GAZO_URL: 'http://127.0.0.1:9' })).toEqual({ status: 'ok' });
    await expect(withPreload('console.log(1)', { GAZO_URL: '' })).rejects.toThrow(/set GAZO_URL/);
  });
});
