import fs from 'node:fs/promises';
import os from 'node:os';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { OCR_NICENESS, OcrTimeoutError } from '../../src/ocr/engine.ts';
import { OcrSetupError, parseLanguages } from '../../src/ocr/languages.ts';
import { type OcrImage, prepareForOcr } from '../../src/ocr/prepare.ts';
import { type PoolOptions, TesseractPool } from '../../src/ocr/tesseract-pool.ts';
import { block, renderPng } from '../helpers/text-images.ts';

async function textImage(text: string): Promise<OcrImage> {
  const png = await renderPng({
    width: 600,
    height: 80,
    background: '#fff',
    lines: block([text], { x: 20, y: 45, size: 22 }),
  });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return prepareForOcr({ data, width: info.width, height: info.height, channels: info.channels });
}

/** This process's threads and their nice values (field 19 of /proc/self/task/TID/stat). */
async function niceOfThreads(): Promise<Array<{ id: number; nice: number }>> {
  const ids = await fs.readdir('/proc/self/task');
  const threads = await Promise.all(
    ids.map(async (id) => {
      const stat = await fs.readFile(`/proc/self/task/${id}/stat`, 'utf8').catch(() => '');
      // Fields after the name, which is in parentheses and may hold spaces: the 19th is the 17th of these.
      return { id: Number(id), nice: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]) };
    }),
  );
  return threads.filter((t) => Number.isFinite(t.nice));
}

describe('TesseractPool', () => {
  let pool: TesseractPool | undefined;
  const open = async (options: Partial<PoolOptions>) => {
    pool = await TesseractPool.open({
      languages: parseLanguages('eng'),
      workers: 1,
      timeoutMs: 30_000,
      recycleAfterJobs: 100,
      recycleAboveRssBytes: Number.POSITIVE_INFINITY,
      ...options,
    });
    return pool;
  };
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('replaces a worker after its number of reads, and reads on with the new one', async () => {
    const p = await open({ recycleAfterJobs: 2 });
    const image = await textImage('Recycled workers read too');
    for (let i = 0; i < 3; i++) expect((await p.read(image)).text).toBe('Recycled workers read too');
    expect(p.stats).toMatchObject({ started: 2, recycled: 1 });
  });

  it('replaces a worker when the process is past its memory bound', async () => {
    const p = await open({ rss: () => 10 * 1024 ** 3, recycleAboveRssBytes: 1024 ** 3 });
    const image = await textImage('Memory bound');
    await p.read(image);
    await p.read(image);
    expect(p.stats).toMatchObject({ started: 2, recycled: 2 });
  });

  it('kills a worker that takes longer than the timeout; the next read gets a fresh one', async () => {
    const p = await open({ timeoutMs: 1 });
    const image = await textImage('Too slow');
    await expect(p.read(image)).rejects.toBeInstanceOf(OcrTimeoutError);
    await expect(p.read(image)).rejects.toThrow('OCR took longer than 1 ms');
    expect(p.stats).toMatchObject({ started: 2, timedOut: 2 });
  });

  it('reads in threads at a lower CPU priority than the server, so requests come first', async () => {
    const before = await niceOfThreads();
    const p = await open({ workers: 2 });
    const image = await textImage('Background work');
    await Promise.all([p.read(image), p.read(image)]);
    const added = (await niceOfThreads()).filter((t) => !before.some((b) => b.id === t.id));
    const base = os.getPriority();
    // Each worker thread, and only those: the server's own threads keep its priority.
    expect(added.filter((t) => t.nice === Math.min(19, base + OCR_NICENESS))).toHaveLength(2);
    expect((await niceOfThreads()).find((t) => t.id === process.pid)?.nice).toBe(base);
  });

  it('names the npm package to install for a language without data', async () => {
    const err = await TesseractPool.open({
      languages: parseLanguages('deu'),
      models: 'npm',
      workers: 1,
      timeoutMs: 1000,
      recycleAfterJobs: 1,
      recycleAboveRssBytes: 1,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OcrSetupError);
    expect((err as Error).message).toBe(
      `no OCR language data for "deu": install the npm package @tesseract.js-data/deu or Debian's tesseract-ocr-deu`,
    );
  });
});
