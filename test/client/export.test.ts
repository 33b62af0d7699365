import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GazoClient } from '../../src/client/index.ts';
import { loadConfig } from '../../src/config.ts';
import { openRuntime } from '../../src/runtime.ts';
import { principalOf } from '../../src/services/principal.ts';
import type { ImageRow } from '../../src/store/schema.ts';
import { killChildren, runCli } from '../helpers/child.ts';
import { animatedGif, solidJpeg, solidPng, solidWebp } from '../helpers/images.ts';
import { serverDatabaseFor } from '../helpers/postgres.ts';
import { makeDataDir, startServer, type TestServer } from '../helpers/server.ts';

/** What an image is, apart from the id and upload time its new home gives it. */
const essence = (r: ImageRow) => ({
  blob_key: r.blob_key,
  type: r.type,
  byte_size: r.byte_size,
  width: r.width,
  height: r.height,
  created_at: Number(r.created_at),
  app: r.app,
  title: r.title,
  url: r.url,
  desc: r.desc,
  metadata_is_public: r.metadata_is_public,
  access_policy: r.access_policy,
});

async function rowsOf(server: TestServer, name: string) {
  const user = await server.rt.store.users.findByName(name);
  if (!user) throw new Error(`no user ${name}`);
  const { rows } = await server.rt.images.list(principalOf(user, 'local'), 1, 100);
  return Promise.all(
    rows.map(async (r) => (await server.rt.store.images.findByImageId(r.image_id)) as ImageRow),
  );
}

describe('gazo export, then import --from-export', { timeout: 120_000 }, () => {
  let source: TestServer;
  let originals: Map<string, Buffer>;
  const dests: string[] = [];

  beforeAll(async () => {
    source = await startServer();
    const { token } = await source.user('export-grace');
    const { token: other } = await source.user('export-heidi');
    const client = new GazoClient({ apiUrl: source.url, accessToken: token });
    const files = [
      await solidPng(21, 13),
      await solidJpeg(17, 9),
      await animatedGif(),
      await solidWebp(12, 8),
    ];
    originals = new Map();
    for (const [i, bytes] of files.entries()) {
      const image = await client.upload(bytes, {
        title: i === 0 ? 'タイトル' : undefined,
        desc: i === 1 ? 'line one\nline two' : undefined,
        app: i === 2 ? 'Gyazo for Mac' : undefined,
        refererUrl: i === 3 ? 'https://example.com/?q=1&r=2' : undefined,
        accessPolicy: i === 1 ? 'only_me' : undefined,
        metadataIsPublic: i === 0,
        createdAt: i === 3 ? undefined : 1_300_000_000.25 + i,
      });
      originals.set(image.image_id, bytes);
    }
    await new GazoClient({ apiUrl: source.url, accessToken: other }).upload(await solidPng(5, 5, '#ffffff'));
  });
  afterAll(async () => {
    await killChildren();
    await source.close();
    await Promise.all(dests.map((d) => fs.rm(d, { recursive: true, force: true })));
  });

  it('writes a folder and a zip of one user, and refuses to write over an export', async () => {
    const root = await makeDataDir();
    dests.push(root);
    const [folder, zip, everyone] = await Promise.all([
      runCli(['export', path.join(root, 'grace'), '--user', 'export-grace', '--data-dir', source.dataDir]),
      runCli([
        'export',
        path.join(root, 'grace'),
        '--zip',
        '--user',
        'export-grace',
        '--data-dir',
        source.dataDir,
      ]),
      runCli(['export', path.join(root, 'all'), '--data-dir', source.dataDir]),
    ]);
    expect(folder.stdout).toMatch(/^exported 4 images \(\d+ bytes\) to .*grace\n$/);
    expect(zip.stdout).toMatch(/^exported 4 images \(\d+ bytes\) to .*grace\.zip\n$/);
    expect(everyone.stdout).toMatch(/^exported 5 images/);
    const lines = (await fs.readFile(path.join(root, 'grace', 'images.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(4);
    for (const line of lines.map((l) => JSON.parse(l))) {
      expect(line.user).toBe('export-grace');
      const bytes = await fs.readFile(path.join(root, 'grace', line.file));
      expect(bytes.equals(originals.get(line.image_id) as Buffer)).toBe(true);
    }

    const again = await runCli(['export', path.join(root, 'grace'), '--data-dir', source.dataDir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists and is not empty/);
  });

  it('gives the same images, bytes and metadata in an empty server (over HTTP) and an empty data dir', async () => {
    const root = dests[0] as string;
    const expected = (await rowsOf(source, 'export-grace')).map(essence);

    const overHttp = await startServer();
    const viaDataDir = await makeDataDir();
    dests.push(viaDataDir);
    try {
      const { token } = await overHttp.user('new-grace');
      const state = await makeDataDir();
      dests.push(state);
      const env = { GAZO_SERVER: overHttp.url, GAZO_TOKEN: token, XDG_STATE_HOME: state };
      const rt = await openRuntime(
        loadConfig({ dataDir: viaDataDir, database: await serverDatabaseFor(viaDataDir) }, {}),
      );
      await rt.accounts.createUser('local-grace');
      await rt.close();
      const [http, local] = await Promise.all([
        runCli(['import', '--from-export', path.join(root, 'grace')], { env }),
        runCli([
          'import',
          '--from-export',
          path.join(root, 'grace.zip'),
          '--data-dir',
          viaDataDir,
          '--user',
          'local-grace',
        ]),
      ]);
      expect(http.stdout, http.stderr).toMatch(/^imported 4, skipped 0 .*failed 0; 4 listed\n$/);
      expect(local.stdout, local.stderr).toMatch(/^imported 4, skipped 0 .*failed 0; 4 listed\n$/);
      expect((await rowsOf(overHttp, 'new-grace')).map(essence)).toEqual(expected);
      const dataDirServer = await startServer({}, viaDataDir);
      try {
        expect((await rowsOf(dataDirServer, 'local-grace')).map(essence)).toEqual(expected);
      } finally {
        await dataDirServer.close();
      }

      // The bytes served are the bytes exported, and a second run imports nothing.
      const client = new GazoClient({ apiUrl: overHttp.url, accessToken: token });
      const served = new Set<string>();
      for await (const image of client.listAll())
        served.add(Buffer.from(await client.download(image.url)).toString('base64'));
      expect(served).toEqual(new Set([...originals.values()].map((b) => b.toString('base64'))));
      const again = await runCli(['import', '--from-export', path.join(root, 'grace.zip'), '--json'], {
        env,
      });
      expect(JSON.parse(again.stdout)).toMatchObject({ imported: 0, skipped: 4 });
    } finally {
      await overHttp.close();
    }
  });

  it('refuses an export that names files outside itself, changing nothing', async () => {
    const bad = await makeDataDir();
    dests.push(bad);
    await fs.writeFile(
      path.join(bad, 'images.jsonl'),
      `${JSON.stringify({ image_id: 'x', file: '../../etc/passwd', created_at: '2014-05-21 14:23:10+0900' })}\n`,
    );
    const dataDir = await makeDataDir();
    dests.push(dataDir);
    const result = await runCli(['import', '--from-export', bad, '--data-dir', dataDir, '--user', 'nobody']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/names no image file inside the export/);
    const missing = await runCli([
      'import',
      '--from-export',
      path.join(bad, 'nothing-here'),
      '--data-dir',
      dataDir,
      '--user',
      'x',
    ]);
    expect(missing.stderr).toMatch(/no export at/);
  });
});
