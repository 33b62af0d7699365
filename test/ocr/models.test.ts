import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  findModels,
  linkModels,
  OcrSetupError,
  packagedModelFile,
  parseLanguages,
} from '../../src/ocr/languages.ts';

describe('findModels: where tesseract.js gets each language', () => {
  let root: string;
  const folder = async (name: string, codes: string[]) => {
    const dir = path.join(root, name);
    await fs.mkdir(dir);
    for (const code of codes)
      await fs.writeFile(path.join(dir, `${code}.traineddata`), `model ${name}/${code}`);
    return dir;
  };
  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'gazo-models-'));
  });
  afterEach(async () => {
    await fs.rm(root, { recursive: true, force: true });
  });

  it('auto takes an installed model, first folder first, and npm for the languages none has', async () => {
    const prefix = await folder('prefix', ['jpn']);
    const debian = await folder('debian', ['jpn']);
    const models = await findModels(parseLanguages('jpn+eng'), 'auto', [prefix, debian]);
    expect(models).toEqual([
      { code: 'jpn', file: path.join(prefix, 'jpn.traineddata'), from: 'installed' },
      { code: 'eng', file: packagedModelFile('eng'), from: 'npm' },
    ]);
  });

  it('npm ignores installed models', async () => {
    const debian = await folder('debian', ['eng']);
    expect(await findModels(parseLanguages('eng'), 'npm', [debian])).toEqual([
      { code: 'eng', file: packagedModelFile('eng'), from: 'npm' },
    ]);
  });

  it('a folder must hold every language, and names the missing file', async () => {
    const own = await folder('own', ['eng']);
    expect(await findModels(parseLanguages('eng'), own, [])).toEqual([
      { code: 'eng', file: path.join(own, 'eng.traineddata'), from: 'installed' },
    ]);
    const err = await findModels(parseLanguages('eng+jpn'), own, []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OcrSetupError);
    expect((err as Error).message).toBe(
      `no OCR model for "jpn": ${path.join(own, 'jpn.traineddata')} is missing`,
    );
  });

  it('a language with neither says what to install', async () => {
    const err = await findModels(parseLanguages('deu'), 'auto', [root]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OcrSetupError);
    expect((err as Error).message).toBe(
      `no OCR language data for "deu": install the npm package @tesseract.js-data/deu or Debian's tesseract-ocr-deu`,
    );
  });

  it('links every model into one private folder under its plain name, and removes it', async () => {
    const debian = await folder('debian', ['eng']);
    const models = await findModels(parseLanguages('eng+jpn'), 'auto', [debian]);
    const linked = await linkModels(models);
    expect((await fs.readdir(linked.dir)).sort()).toEqual(['eng.traineddata', 'jpn.traineddata']);
    expect(await fs.readFile(path.join(linked.dir, 'eng.traineddata'), 'utf8')).toBe('model debian/eng');
    expect(await fs.realpath(path.join(linked.dir, 'jpn.traineddata'))).toBe(
      await fs.realpath(packagedModelFile('jpn')),
    );
    await linked.remove();
    await expect(fs.access(linked.dir)).rejects.toThrow();
  });
});
