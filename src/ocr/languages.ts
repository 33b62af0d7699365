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

/** The packaged LSTM `best_int` model of a language, from `@tesseract.js-data/<code>`. */
export function modelFile(code: string): string {
  let pkg: string;
  try {
    pkg = require.resolve(`@tesseract.js-data/${code}/package.json`);
  } catch {
    throw new OcrSetupError(
      `no OCR language data for "${code}": install the npm package @tesseract.js-data/${code}`,
    );
  }
  return path.join(path.dirname(pkg), '4.0.0_best_int', `${code}.traineddata.gz`);
}

/**
 * tesseract.js reads every language from one `langPath` folder, and 7.0.0 mishandles language
 * objects with their data inline, so the packaged models are linked into one private temporary
 * folder (never the working directory). `remove()` deletes it again.
 */
export async function linkModels(languages: Language[]): Promise<{ dir: string; remove(): Promise<void> }> {
  const files = languages.map((l) => ({ code: l.code, file: modelFile(l.code) }));
  for (const { code, file } of files) {
    await fs.access(file).catch(() => {
      throw new OcrSetupError(`OCR language data for "${code}" is missing its model (${file})`);
    });
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gazo-ocr-'));
  for (const { code, file } of files) await fs.symlink(file, path.join(dir, `${code}.traineddata.gz`));
  return { dir, remove: () => fs.rm(dir, { recursive: true, force: true }) };
}
