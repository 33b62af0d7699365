import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

/** What a tesseract language code means here: the locale Gazo reports, and its script. */
export interface Language {
  code: string;
  locale: string;
  script: Script;
}

export type Script = 'latin' | 'japanese' | 'han' | 'hangul' | 'cyrillic';

const KNOWN: Record<string, { locale: string; script: Script }> = {
  eng: { locale: 'en', script: 'latin' },
  jpn: { locale: 'ja', script: 'japanese' },
  deu: { locale: 'de', script: 'latin' },
  fra: { locale: 'fr', script: 'latin' },
  spa: { locale: 'es', script: 'latin' },
  ita: { locale: 'it', script: 'latin' },
  por: { locale: 'pt', script: 'latin' },
  nld: { locale: 'nl', script: 'latin' },
  chi_sim: { locale: 'zh', script: 'han' },
  chi_tra: { locale: 'zh', script: 'han' },
  kor: { locale: 'ko', script: 'hangul' },
  rus: { locale: 'ru', script: 'cyrillic' },
  ukr: { locale: 'uk', script: 'cyrillic' },
};

export class OcrSetupError extends Error {}

/** `eng+jpn` as the list of languages, in that order (the first is tesseract's main one). */
export function parseLanguages(spec: string): Language[] {
  const codes = spec.split('+').map((c) => c.trim());
  if (codes.some((c) => !/^[a-z]{3}(_[a-z]+)?$/.test(c))) {
    throw new OcrSetupError(
      `OCR languages must be tesseract codes joined by "+", like eng+jpn; got "${spec}"`,
    );
  }
  return [...new Set(codes)].map((code) => ({ code, ...(KNOWN[code] ?? { locale: code, script: 'latin' }) }));
}

const require = createRequire(import.meta.url);

/**
 * Where the tesseract command's own models live on Debian and Ubuntu (the `tesseract-ocr-<code>`
 * packages). They are tessdata_fast: as accurate as npm's best_int on screenshots, and
 * 1.3–1.5× faster to read with (bench:ocr), so tesseract.js prefers them when they are installed.
 */
export const SYSTEM_TESSDATA = [
  '/usr/share/tesseract-ocr/5/tessdata',
  '/usr/share/tesseract-ocr/4.00/tessdata',
];

/** Where a language's model comes from: `installed` for a tessdata folder's, `npm` for the packaged one. */
export interface ModelFile {
  code: string;
  file: string;
  from: 'installed' | 'npm';
}

/** The packaged LSTM `best_int` model of a language, from `@tesseract.js-data/<code>`. */
export function packagedModelFile(code: string): string {
  let pkg: string;
  try {
    pkg = require.resolve(`@tesseract.js-data/${code}/package.json`);
  } catch {
    throw new OcrSetupError(
      `no OCR language data for "${code}": install the npm package @tesseract.js-data/${code}` +
        ` or Debian's tesseract-ocr-${code.replace(/_/g, '-')}`,
    );
  }
  return path.join(path.dirname(pkg), '4.0.0_best_int', `${code}.traineddata.gz`);
}

const exists = (file: string) =>
  fs.access(file).then(
    () => true,
    () => false,
  );

/**
 * Each language's model for tesseract.js. `models` is `auto` (the model in a tessdata folder
 * where one is installed, TESSDATA_PREFIX first, else the npm package), `npm` (always the
 * package), or a folder that must hold `<code>.traineddata` for every language.
 */
export async function findModels(
  languages: Language[],
  models: string,
  systemFolders: string[] = [process.env.TESSDATA_PREFIX ?? '', ...SYSTEM_TESSDATA],
): Promise<ModelFile[]> {
  const named = models !== 'auto' && models !== 'npm';
  const folders = named ? [models] : models === 'auto' ? systemFolders.filter((f) => f !== '') : [];
  const found: ModelFile[] = [];
  for (const { code } of languages) {
    const candidates = folders.map((folder) => path.join(folder, `${code}.traineddata`));
    let installed: string | undefined;
    for (const candidate of candidates) {
      if (await exists(candidate)) {
        installed = candidate;
        break;
      }
    }
    if (installed) {
      found.push({ code, file: installed, from: 'installed' });
    } else if (named) {
      throw new OcrSetupError(`no OCR model for "${code}": ${candidates[0]} is missing`);
    } else {
      const packaged = packagedModelFile(code);
      if (!(await exists(packaged)))
        throw new OcrSetupError(`OCR language data for "${code}" is missing its model (${packaged})`);
      found.push({ code, file: packaged, from: 'npm' });
    }
  }
  return found;
}

/**
 * tesseract.js reads every language from one `langPath` folder, and 7.0.0 mishandles language
 * objects with their data inline, so the models are linked into one private temporary folder
 * (never the working directory) as `<code>.traineddata`; tesseract.js unpacks the gzipped npm
 * ones by their magic number. `remove()` deletes the folder again.
 */
export async function linkModels(files: ModelFile[]): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gazo-ocr-'));
  for (const { code, file } of files) await fs.symlink(file, path.join(dir, `${code}.traineddata`));
  return { dir, remove: () => fs.rm(dir, { recursive: true, force: true }) };
}
