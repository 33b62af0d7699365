import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GazoClient, type GazoImage } from '../../src/client/index.ts';
import { openRuntime } from '../../src/runtime.ts';
import { uploadIntoDataDir } from '../../src/services/import/data-dir-target.ts';
import { parseSourceTime, toImportItem } from '../../src/services/import/items.ts';
import { principalOf } from '../../src/services/principal.ts';
import type { ImageRow } from '../../src/store/schema.ts';
import { cleanEnv, GAZO_BIN, killChildren, REPO_ROOT, runCli } from '../helpers/child.ts';
import { solidPng } from '../helpers/images.ts';
import { makeDataDir, startServer, type TestServer } from '../helpers/server.ts';
import { startProxy, type TestProxy } from './proxy.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** `2014-05-21T05:23:10+0000` as the reference's listing writes the same instant: `2014-05-21 14:23:10+0900`. */
function asTokyoTime(utc: string): string {
  const ms = Date.parse(utc.replace('+0000', 'Z')) + 9 * 3600_000;
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}+0900`;
}

/** Every image of an account, with the sha-256 of its bytes. */
async function contents(client: GazoClient) {
  const out: Array<GazoImage & { sha: string }> = [];
  for await (const image of client.listAll())
    out.push({ ...image, sha: sha(await client.download(image.url)) });
  return out;
}

describe('source times', () => {
  it('keeps the instant of every form sources write', () => {
    const instant = Date.parse('2014-05-21T05:23:10Z');
    expect(parseSourceTime('2014-05-21 14:23:10+0900')).toBe(instant);
    expect(parseSourceTime('2014-05-21T14:23:10+09:00')).toBe(instant);
    expect(parseSourceTime('2014-05-21T05:23:10+0000')).toBe(instant);
    expect(parseSourceTime('2014-05-20 21:23:10-0800')).toBe(instant);
    expect(parseSourceTime('2018-07-24T07:33:24.771Z')).toBe(Date.parse('2018-07-24T07:33:24.771Z'));
    expect(parseSourceTime(1400649790)).toBe(instant);
    expect(parseSourceTime('yesterday')).toBeUndefined();
    expect(parseSourceTime(null)).toBeUndefined();
  });
});

describe('gazo import', { timeout: 120_000 }, () => {
  let source: TestServer;
  let sourceProxy: TestProxy;
  let sourceToken: string;
  let sourceImages: Array<GazoImage & { sha: string }>;
  /** The image the source lists without a URL, as gyazo.com does for a locked one. */
  let lockedId: string;

  beforeAll(async () => {
    sourceProxy = await startProxy();
    source = await startServer({ baseUrl: sourceProxy.url });
    sourceProxy.target = source.url;
    ({ token: sourceToken } = await source.user('source-alice'));
    const client = new GazoClient({ apiUrl: source.url, accessToken: sourceToken });
    for (let i = 0; i < 8; i++) {
      await client.upload(await solidPng(20 + i, 10, `#${(i * 30).toString(16).padStart(2, '0')}4080`), {
        title: i % 2 ? `title ${i}` : undefined,
        desc: i % 3 ? `desc ${i}` : undefined,
        app: 'Chrome',
        refererUrl: `https://example.com/${i}`,
        accessPolicy: i === 5 ? 'only_me' : 'anyone',
        createdAt: 1_400_649_790 + i * 3600,
      });
    }
    sourceImages = await contents(new GazoClient({ apiUrl: sourceProxy.url, accessToken: sourceToken }));
    lockedId = (sourceImages[2] as GazoImage).image_id;
  });
  afterAll(async () => {
    await killChildren();
    await sourceProxy.close();
    await source.close();
  });

  /** The source as gyazo.com shows it: offset times, one image without a URL. */
  const likeGyazo = (_path: string, body: unknown) =>
    Array.isArray(body)
      ? body.map((i: GazoImage) => ({
          ...i,
          created_at: asTokyoTime(i.created_at),
          url: i.image_id === lockedId ? null : i.url,
        }))
      : body;

  const importInto = (target: { url: string; token: string }, state: string, ...args: string[]) =>
    runCli(['import', '--from', sourceProxy.url, '--token', sourceToken, ...args], {
      env: {
        GAZO_SERVER: target.url,
        GAZO_TOKEN: target.token,
        XDG_STATE_HOME: state,
        XDG_CONFIG_HOME: state,
      },
    });

  it('imports every page through 429s and a dropped connection, keeping instants and metadata; runs again for what is new', async () => {
    const target = await startServer();
    try {
      const { token } = await target.user('target-bob');
      const state = await makeDataDir();
      let requests = 0;
      let dropped = false;
      sourceProxy.rules = {
        rewriteJson: likeGyazo,
        tooMany: () => [2, 5, 8].includes(++requests),
        drop: (p) => {
          if (dropped || !p.endsWith('.png')) return false;
          dropped = true;
          return true;
        },
      };
      sourceProxy.log.length = 0;

      const dry = await importInto({ url: target.url, token }, state, '--dry-run');
      expect(dry.stdout).toBe(
        'would import 7, skipped 0 (already there), unavailable 1 (no URL at the source); 8 listed\n',
      );
      expect(await target.imageCount()).toBe(0);

      const first = await importInto({ url: target.url, token }, state);
      expect(first.stdout).toBe(
        'imported 7, skipped 0 (already there), unavailable 1 (no URL at the source), failed 0; 8 listed\n',
      );
      expect(first.code).toBe(0);
      // The 429s were waited out (Retry-After: 1) and the dropped download was tried again.
      const log = sourceProxy.log;
      expect(log.filter((r) => r.status === 429).length).toBe(3);
      for (const [i, r] of log.entries()) {
        if (r.status !== 429) continue;
        const retry = log.slice(i + 1).find((l) => l.path === r.path && l.method === r.method);
        expect(retry?.at).toBeGreaterThanOrEqual(r.at + 950);
      }
      expect(log.filter((r) => r.status === 'dropped')).toHaveLength(1);

      const imported = await contents(new GazoClient({ apiUrl: target.url, accessToken: token }));
      const expected = sourceImages.filter((i) => i.image_id !== lockedId);
      expect(imported).toHaveLength(7);
      const strip = (i: GazoImage & { sha: string }) => ({
        sha: i.sha,
        type: i.type,
        created_at: i.created_at,
        metadata: i.metadata,
        access_policy: i.access_policy,
      });
      expect(imported.map(strip)).toEqual(expected.map(strip));
      expect(imported.map((i) => i.created_at)).toContain('2014-05-21T05:23:10+0000');

      // Again: nothing new. Then one new image at the source: only it comes over.
      sourceProxy.rules = { rewriteJson: likeGyazo };
      const again = await importInto({ url: target.url, token }, state, '--json');
      expect(JSON.parse(again.stdout)).toMatchObject({
        listed: 8,
        imported: 0,
        skipped: 7,
        unavailable: 1,
        failed: [],
      });
      await new GazoClient({ apiUrl: source.url, accessToken: sourceToken }).upload(
        await solidPng(5, 5, '#010203'),
      );
      const more = await importInto({ url: target.url, token }, state, '--json');
      expect(JSON.parse(more.stdout)).toMatchObject({ listed: 9, imported: 1, skipped: 7 });
      expect(await target.imageCount()).toBe(8);
      await new GazoClient({ apiUrl: source.url, accessToken: sourceToken }).delete(
        (await new GazoClient({ apiUrl: source.url, accessToken: sourceToken }).list({ perPage: 1 }))
          .images[0]?.image_id as string,
      );
    } finally {
      sourceProxy.rules = {};
      await target.close();
    }
  });

  it('resumes a killed import without a duplicate, even when the kill fell between upload and record', async () => {
    // The target sits behind a proxy that, on the third upload, lets the server store the image
    // but never answers: the importer is killed there, knowing only that it began that upload.
    const targetProxy = await startProxy();
    const target = await startServer({ baseUrl: targetProxy.url });
    targetProxy.target = target.url;
    try {
      const { token } = await target.user('target-erin');
      const state = await makeDataDir();
      let uploads = 0;
      targetProxy.rules = { hold: (p, m) => p === '/api/upload' && m === 'POST' && ++uploads === 3 };
      const child = spawn(
        process.execPath,
        [GAZO_BIN, 'import', '--from', sourceProxy.url, '--token', sourceToken, '--concurrency', '1'],
        {
          cwd: REPO_ROOT,
          env: cleanEnv({ GAZO_SERVER: targetProxy.url, GAZO_TOKEN: token, XDG_STATE_HOME: state }),
          stdio: 'ignore',
        },
      );
      const exited = new Promise((resolve) => child.on('exit', resolve));
      const deadline = Date.now() + 60_000;
      while (!targetProxy.log.some((r) => r.status === 'held') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGKILL');
      await exited;
      expect(await target.imageCount()).toBe(3);

      targetProxy.rules = {};
      const resumed = await runCli(['import', '--from', sourceProxy.url, '--token', sourceToken, '--json'], {
        env: { GAZO_SERVER: targetProxy.url, GAZO_TOKEN: token, XDG_STATE_HOME: state },
      });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(JSON.parse(resumed.stdout)).toMatchObject({ imported: 5, skipped: 3, failed: [] });
      const imported = await contents(new GazoClient({ apiUrl: targetProxy.url, accessToken: token }));
      expect(imported.map((i) => i.sha).sort()).toEqual(sourceImages.map((i) => i.sha).sort());
    } finally {
      await target.close();
      await targetProxy.close();
    }
  });

  it('imports straight into a data dir (--data-dir --user) with OCR text, settling an import a crash cut short', async () => {
    // A source that has read the text of its images, as gyazo.com does.
    sourceProxy.rules = {
      rewriteJson: (_p, body) =>
        Array.isArray(body)
          ? body.map((i: GazoImage) => ({ ...i, ocr: { locale: 'ja', description: `読んだ ${i.image_id}` } }))
          : body,
    };
    const dataDir = await makeDataDir();
    // As a run killed right after its upload committed would leave it: begun, image stored, not recorded.
    const first = sourceImages[0] as GazoImage & { sha: string };
    const rt = await openRuntime((await import('../../src/config.ts')).loadConfig({ dataDir }, {}));
    try {
      const user = await rt.accounts.createUser('local-frank');
      const item = toImportItem(first, 'x');
      await rt.store.importSources.begin(user.id, item.source, item.sourceId, Date.now());
      const bytes = await new GazoClient({ apiUrl: source.url, accessToken: sourceToken }).download(
        first.url,
      );
      await uploadIntoDataDir(rt.uploads, user, bytes, item);
    } finally {
      await rt.close();
    }
    const result = await runCli([
      'import',
      '--from',
      sourceProxy.url,
      '--token',
      sourceToken,
      '--data-dir',
      dataDir,
      '--user',
      'local-frank',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ imported: 7, skipped: 1, failed: [] });
    const after = await openRuntime((await import('../../src/config.ts')).loadConfig({ dataDir }, {}));
    try {
      const user = await after.store.users.findByName('local-frank');
      const listed = (await after.images.list(principalOf(user as NonNullable<typeof user>, 'local'), 1, 100))
        .rows;
      const rows = await Promise.all(
        listed.map(async (r) => (await after.store.images.findByImageId(r.image_id)) as ImageRow),
      );
      expect(rows.map((r) => r.blob_key).sort()).toEqual(sourceImages.map((i) => i.sha).sort());
      expect(rows.find((r) => r.blob_key === first.sha)?.created_at).toBe(
        Date.parse('2014-05-21T05:23:10Z') + 7 * 3600_000,
      );
      const bySha = new Map(sourceImages.map((i) => [i.sha, i.image_id]));
      for (const row of rows) {
        expect([row.ocr_locale, row.ocr_text]).toEqual(['ja', `読んだ ${bySha.get(row.blob_key)}`]);
      }
      const found = await after.images.search(
        principalOf(user as NonNullable<typeof user>, 'local'),
        '読んだ',
        1,
        100,
      );
      expect(found.total).toBe(8);
    } finally {
      await after.close();
    }
    const usage = await runCli(['import', '--from', sourceProxy.url, '--token', 't', '--data-dir', dataDir]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--data-dir and --user go together/);
    sourceProxy.rules = {};
    await fs.rm(path.join(dataDir), { recursive: true, force: true });
  });
});
