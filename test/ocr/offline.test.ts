import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { packagedModelFile } from '../../src/ocr/languages.ts';
import { openRuntime } from '../../src/runtime.ts';
import { freePort, killChildren, runCli, spawnServer } from '../helpers/child.ts';
import { serverDatabaseFor } from '../helpers/postgres.ts';
import { block, renderPng, requireFonts } from '../helpers/text-images.ts';

/** How the start-up line names the default worker count: two on two cores, one on one. */
const DEFAULT_WORKERS = os.availableParallelism() >= 2 ? '2 workers' : '1 worker';

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

  /** A user and token in a fresh data dir, and an upload of `text` rendered into a PNG; resolves to what OCR read. */
  const setUp = async () => {
    const [dataDir, cwd, tmp] = await Promise.all([tempDir('data'), tempDir('cwd'), tempDir('tmp')]);
    const rt = await openRuntime(
      loadConfig({ dataDir, ocr: false, database: await serverDatabaseFor(dataDir) }, {}),
    );
    await rt.accounts.createUser('reader');
    const { token } = await rt.accounts.createToken('reader');
    await rt.close();
    return { dataDir, cwd, tmp, token };
  };
  const readBack = async (url: string, token: string, text: string) => {
    const png = await renderPng({
      width: 700,
      height: 100,
      background: '#ffffff',
      lines: block([text], { x: 20, y: 55, size: 24 }),
    });
    const body = new FormData();
    body.set('imagedata', new Blob([new Uint8Array(png)]), 'shot.png');
    const up = await fetch(`${url}/api/upload?access_token=${token}`, { method: 'POST', body });
    expect(up.status).toBe(200);
    const { image_id } = (await up.json()) as { image_id: string };
    let description = '';
    for (const deadline = Date.now() + 30_000; !description && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 200));
      const res = await fetch(`${url}/api/images/${image_id}?access_token=${token}`);
      description = ((await res.json()) as { ocr: { description: string } }).ocr.description;
    }
    return description;
  };

  it('reads text with the packaged models only, writing nothing to the working directory', async () => {
    requireFonts();
    const { dataDir, cwd, tmp, token } = await setUp();
    // No proxy that could reach a network: a download attempt would fail the read.
    const server = await spawnServer(dataDir, {
      cwd,
      env: {
        GAZO_OCR: 'on',
        GAZO_OCR_LANGUAGES: 'eng+jpn',
        GAZO_OCR_MODELS: 'npm',
        TMPDIR: tmp,
        HTTPS_PROXY: 'http://127.0.0.1:9',
      },
    });
    expect(await readBack(server.url, token, 'Offline reading works')).toBe('Offline reading works');
    expect(server.output().stdout).toContain(
      `OCR: tesseract.js, ${DEFAULT_WORKERS}; models eng from npm (best_int), jpn from npm (best_int)\n`,
    );
    await server.stop('SIGTERM');

    expect(await fs.readdir(cwd)).toEqual([]);
    // The models' folder of links is gone with the process (tsx keeps its own cache there).
    expect((await fs.readdir(tmp)).filter((f) => f.startsWith('gazo-'))).toEqual([]);
  });

  it('reads with an installed tesseract model (TESSDATA_PREFIX) before the npm one, and says so', async () => {
    requireFonts();
    const { dataDir, cwd, tmp, token } = await setUp();
    const tessdata = await tempDir('tessdata');
    // Any tesseract model file will do; this one is npm's, gzipped, under the installed name.
    await fs.copyFile(packagedModelFile('eng'), path.join(tessdata, 'eng.traineddata'));
    const server = await spawnServer(dataDir, {
      cwd,
      env: { GAZO_OCR: 'on', GAZO_OCR_LANGUAGES: 'eng', TESSDATA_PREFIX: tessdata, TMPDIR: tmp },
    });
    expect(server.output().stdout).toContain(
      `OCR: tesseract.js, ${DEFAULT_WORKERS}; models eng ${path.join(tessdata, 'eng.traineddata')}\n`,
    );
    expect(await readBack(server.url, token, 'Installed models read')).toBe('Installed models read');
    await server.stop('SIGTERM');
  });

  it.each([
    [
      'tesseract.js',
      `no OCR language data for "deu": install the npm package @tesseract.js-data/deu or Debian's tesseract-ocr-deu`,
    ],
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
          // npm: the message does not depend on which tesseract models this machine has.
          env: { GAZO_OCR: 'on', GAZO_OCR_MODELS: 'npm' },
        },
      );
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`gazo: ${said}\n`);
    },
  );
});
