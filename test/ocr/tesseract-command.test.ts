import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OCR_NICENESS, OcrTimeoutError } from '../../src/ocr/engine.ts';
import { OcrSetupError, parseLanguages } from '../../src/ocr/languages.ts';
import { type OcrImage, prepareForOcr } from '../../src/ocr/prepare.ts';
import { type CommandOptions, TesseractCommand } from '../../src/ocr/tesseract-command.ts';
import { block, CJK, renderPng, requireFonts } from '../helpers/text-images.ts';

async function textImage(lines: string[], font?: string): Promise<OcrImage> {
  const png = await renderPng({
    width: 700,
    height: 50 + 40 * lines.length,
    background: '#fff',
    lines: block(lines, { x: 20, y: 45, size: 22, font }),
  });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return prepareForOcr({ data, width: info.width, height: info.height, channels: info.channels });
}

const options = (overrides: Partial<CommandOptions> = {}): CommandOptions => ({
  languages: parseLanguages('eng+jpn'),
  workers: 1,
  timeoutMs: 30_000,
  ...overrides,
});

/** The installed `tesseract` command as the OCR engine (Debian's tesseract-ocr; `.ci/run` installs it). */
describe('TesseractCommand', () => {
  let scripts: string;
  beforeAll(async () => {
    requireFonts();
    scripts = await fs.mkdtemp(path.join(os.tmpdir(), 'gazo-tesseract-'));
  });
  afterAll(() => fs.rm(scripts, { recursive: true, force: true }));

  /** A stand-in command that lists eng and jpn, then does what `body` says with a read. */
  const fakeCommand = async (name: string, body: string) => {
    const file = path.join(scripts, name);
    await fs.writeFile(
      file,
      `#!/bin/sh\nif [ "$1" = "--list-langs" ]; then printf 'List of available languages (2):\\neng\\njpn\\n'; exit 0; fi\n${body}\n`,
      { mode: 0o755 },
    );
    return file;
  };

  it('reads English and Japanese, line breaks kept, the main language as the locale', async () => {
    const engine = await TesseractCommand.open(options());
    try {
      const english = await engine.read(await textImage(['Account Settings', 'Display name: Ada Lovelace']));
      expect(english).toEqual({ text: 'Account Settings\nDisplay name: Ada Lovelace', locale: 'en' });
      const japanese = await engine.read(await textImage(['明日の会議は十時からです'], CJK));
      expect(japanese.locale).toBe('ja');
      expect(japanese.text).toContain('明日の会議は十時からです');
      expect(await engine.read(await textImage([' ']))).toEqual({ text: '', locale: null });
    } finally {
      await engine.close();
    }
  });

  it('runs with one OpenMP thread, in the temporary folder, never the working directory', async () => {
    const command = await fakeCommand('env', 'cat >/dev/null; echo "threads=$OMP_THREAD_LIMIT"; pwd');
    const engine = await TesseractCommand.open(options({ command }));
    const { text } = await engine.read(await textImage(['x']));
    expect(text.split('\n')).toEqual(['threads=1', await fs.realpath(os.tmpdir())]);
  });

  it('reads at a lower CPU priority than the server, so requests come first', async () => {
    // Field 19 of /proc/PID/stat is the nice value; the name in field 2 here has no spaces.
    const command = await fakeCommand(
      'priority',
      'cat >/dev/null; awk \'{print "nice=" $19}\' /proc/$$/stat',
    );
    const engine = await TesseractCommand.open(options({ command }));
    expect((await engine.read(await textImage(['x']))).text).toBe(
      `nice=${Math.min(19, os.getPriority() + OCR_NICENESS)}`,
    );
  });

  it('kills a read that takes longer than the timeout; the next read runs', async () => {
    const engine = await TesseractCommand.open(options({ timeoutMs: 1 }));
    const image = await textImage(['Too slow']);
    await expect(engine.read(image)).rejects.toBeInstanceOf(OcrTimeoutError);
    await expect(engine.read(image)).rejects.toThrow('OCR took longer than 1 ms');
    expect(engine.stats).toEqual({ started: 2, timedOut: 2 });
    // No process is left behind: nothing named tesseract is a child of this one.
    const children = execFileSync('ps', ['-o', 'comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
    expect(children).not.toContain('tesseract');
  });

  it('turns a failing process into an error with what it said, not a hang', async () => {
    const command = await fakeCommand(
      'fails',
      'cat >/dev/null; echo "Error in pixReadMem: unknown format" >&2; exit 1',
    );
    const engine = await TesseractCommand.open(options({ command }));
    await expect(engine.read(await textImage(['x']))).rejects.toThrow(
      'tesseract exited with 1: Error in pixReadMem: unknown format',
    );
  });

  it('reads at most `workers` images at once', async () => {
    const log = path.join(scripts, 'concurrency.log');
    const command = await fakeCommand(
      'slow',
      `cat >/dev/null; echo start >> ${log}; sleep 0.2; echo end >> ${log}; echo read`,
    );
    const engine = await TesseractCommand.open(options({ command, workers: 2 }));
    const image = await textImage(['x']);
    await Promise.all(Array.from({ length: 5 }, () => engine.read(image)));
    let running = 0;
    let most = 0;
    for (const line of (await fs.readFile(log, 'utf8')).trim().split('\n')) {
      running += line === 'start' ? 1 : -1;
      most = Math.max(most, running);
    }
    expect(most).toBe(2);
  });

  it('names the Debian package for a language tesseract has no data for', async () => {
    const err = await TesseractCommand.open(options({ languages: parseLanguages('eng+chi_sim') })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OcrSetupError);
    expect((err as Error).message).toBe(
      'tesseract has no data for "chi_sim" (Debian: apt-get install tesseract-ocr-chi-sim)',
    );
  });

  it('says what to install when there is no tesseract command', async () => {
    const err = await TesseractCommand.open(options({ command: path.join(scripts, 'missing') })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OcrSetupError);
    expect((err as Error).message).toMatch(
      /^the OCR engine "tesseract" needs the tesseract command \(Debian: apt-get install tesseract-ocr\)/,
    );
  });
});
