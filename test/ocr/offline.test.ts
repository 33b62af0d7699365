import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openRuntime } from '../../src/runtime.ts';
import { freePort, killChildren, runCli, spawnServer } from '../helpers/child.ts';
import { serverDatabaseFor } from '../helpers/postgres.ts';
import { block, renderPng, requireFonts } from '../helpers/text-images.ts';

describe('gazo serve with OCR', () => {
  const dirs: string[] = [];
  const tempDir = async (name: string) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), `gazo-${name}-`));
    dirs.push(dir);
    return dir;
  };
  afterAll(async () => {
    await killChildren();
    await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
  });

  it('reads text with the packaged models only, writing nothing to the working directory', async () => {
    requireFonts();
    const [dataDir, cwd, tmp] = await Promise.all([tempDir('data'), tempDir('cwd'), tempDir('tmp')]);
    const rt = await openRuntime(
      loadConfig({ dataDir, ocr: false, database: await serverDatabaseFor(dataDir) }, {}),
    );
    await rt.accounts.createUser('reader');
    const { token } = await rt.accounts.createToken('reader');
    await rt.close();

    // No proxy that could reach a network: a download attempt would fail the read.
    const server = await spawnServer(dataDir, {
      cwd,
      env: { GAZO_OCR: 'on', GAZO_OCR_LANGUAGES: 'eng+jpn', TMPDIR: tmp, HTTPS_PROXY: 'http://127.0.0.1:9' },
    });
    const png = await renderPng({
      width: 700,
      height: 100,
      background: '#ffffff',
      lines: block(['Offline reading works'], { x: 20, y: 55, size: 24 }),
    });
    const body = new FormData();
    body.set('imagedata', new Blob([new Uint8Array(png)]), 'shot.png');
    const up = await fetch(`${server.url}/api/upload?access_token=${token}`, { method: 'POST', body });
    expect(up.status).toBe(200);
    const { image_id } = (await up.json()) as { image_id: string };

    let description = '';
    for (const deadline = Date.now() + 30_000; !description && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 200));
      const res = await fetch(`${server.url}/api/images/${image_id}?access_token=${token}`);
      description = ((await res.json()) as { ocr: { description: string } }).ocr.description;
    }
    expect(description).toBe('Offline reading works');
    await server.stop('SIGTERM');

    expect(await fs.readdir(cwd)).toEqual([]);
    // The models' folder of links is gone with the process (tsx keeps its own cache there).
    expect((await fs.readdir(tmp)).filter((f) => f.startsWith('gazo-'))).toEqual([]);
  });

  it.each([
    ['tesseract.js', 'no OCR language data for "deu": install the npm package @tesseract.js-data/deu'],
    ['tesseract', 'tesseract has no data for "deu" (Debian: apt-get install tesseract-ocr-deu)'],
  ])(
    'with engine %s and a language without data, refuses to start, naming the package',
    async (engine, said) => {
      const dataDir = await tempDir('data');
      const port = String(await freePort());
      const run = await runCli(
        [
          'serve',
          '--data-dir',
          dataDir,
          '--port',
          port,
          '--ocr-engine',
          engine,
          '--ocr-languages',
          'eng+deu',
        ],
        {
          env: { GAZO_OCR: 'on' },
        },
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`gazo: ${said}\n`);
    },
  );
});
