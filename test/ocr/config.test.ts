import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

describe('OCR settings', () => {
  it('reads eng+jpn by default; --no-ocr and GAZO_OCR=off turn it off, the flag winning', () => {
    expect(loadConfig({}, {}).ocr).toEqual({
      enabled: true,
      engine: 'tesseract.js',
      languages: 'eng+jpn',
      models: 'auto',
      // Two on this project's two-core machines; one where there is one core.
      workers: Math.min(2, os.availableParallelism()),
      timeoutMs: 60_000,
    });
    // commander gives `ocr: true` when --no-ocr is absent: the environment still decides.
    expect(loadConfig({ ocr: true }, { GAZO_OCR: 'off' }).ocr.enabled).toBe(false);
    expect(loadConfig({ ocr: false }, { GAZO_OCR: 'on' }).ocr.enabled).toBe(false);
    expect(loadConfig({}, { GAZO_OCR: 'on' }).ocr.enabled).toBe(true);
    expect(() => loadConfig({}, { GAZO_OCR: 'maybe' })).toThrow(ConfigError);
  });

  it('takes languages from --ocr-languages over GAZO_OCR_LANGUAGES, and refuses malformed ones', () => {
    expect(loadConfig({ ocrLanguages: 'eng' }, { GAZO_OCR_LANGUAGES: 'jpn' }).ocr.languages).toBe('eng');
    expect(loadConfig({}, { GAZO_OCR_LANGUAGES: 'jpn+eng' }).ocr.languages).toBe('jpn+eng');
    expect(() => loadConfig({ ocrLanguages: 'english' }, {})).toThrow(
      'OCR languages must be tesseract codes joined by "+", like eng+jpn; got "english"',
    );
    expect(() => loadConfig({ ocrLanguages: 'eng,jpn' }, {})).toThrow(ConfigError);
  });

  it('takes the models from GAZO_OCR_MODELS: auto, npm or an absolute folder', () => {
    expect(loadConfig({}, { GAZO_OCR_MODELS: 'npm' }).ocr.models).toBe('npm');
    expect(loadConfig({}, { GAZO_OCR_MODELS: ' /opt/tessdata ' }).ocr.models).toBe('/opt/tessdata');
    expect(loadConfig({}, { GAZO_OCR_MODELS: '' }).ocr.models).toBe('auto');
    expect(() => loadConfig({}, { GAZO_OCR_MODELS: 'tessdata' })).toThrow(
      `GAZO_OCR_MODELS must be auto, npm or a folder's absolute path; got "tessdata"`,
    );
  });

  it('takes workers and timeout from the environment', () => {
    const { ocr } = loadConfig({}, { GAZO_OCR_WORKERS: '2', GAZO_OCR_TIMEOUT: '5' });
    expect([ocr.workers, ocr.timeoutMs]).toEqual([2, 5000]);
    expect(() => loadConfig({}, { GAZO_OCR_WORKERS: '0' })).toThrow(ConfigError);
  });

  it('takes the engine from --ocr-engine over GAZO_OCR_ENGINE, and refuses an unknown one', () => {
    expect(loadConfig({ ocrEngine: 'tesseract' }, { GAZO_OCR_ENGINE: 'tesseract.js' }).ocr.engine).toBe(
      'tesseract',
    );
    expect(loadConfig({}, { GAZO_OCR_ENGINE: 'tesseract' }).ocr.engine).toBe('tesseract');
    expect(() => loadConfig({ ocrEngine: 'paddle' }, {})).toThrow(
      'OCR engine must be one of tesseract.js, tesseract; got "paddle"',
    );
  });
});
