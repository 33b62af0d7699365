/**
 * `npm run bench:ocr`: OCR on a corpus of 32 generated 1280×720 screenshots with known text
 * (bench/ocr-corpus.ts).
 *
 *   serve     a real `gazo serve` (fresh data dir, OCR on, started with the node flags and
 *             environment of `npm start`) is sent every screenshot; the figures are word recall and character error rate (CER) per language from the image objects
 *             it answers, images read per second from the first upload to the last text stored
 *             (after one screenshot per worker, whose start-up is printed apart: a running
 *             server's workers are started already),
 *             the server's CPU time per image (from /proc, what an idle machine's rate is bound
 *             by) and its peak resident memory (VmHWM).
 *   prepare   (BENCH_OCR_PREPARE=1) the engine alone in this process on each way of preparing
 *             the pixels: as decoded (greyscale), dark themes inverted, and also scaled ×1.5, ×1.6 or ×2.
 *
 * Each engine in turn (BENCH_OCR_ENGINES, default `tesseract.js,tesseract`; the tesseract command
 * is skipped, saying so, where it is not installed).
 *
 * Each run prints the issue's targets as met or MISSED.
 *
 * Settings (environment): BENCH_OCR_WORKERS (worker counts to run, default `1,2`; or one
 * GAZO_OCR_WORKERS), GAZO_OCR_LANGUAGES and GAZO_OCR_MODELS
 * (`npm` measures tesseract.js on npm's best_int models where tesseract's own are installed) are
 * passed to the server; BENCH_OCR_PREPARE=1 adds the preparation comparison;
 * BENCH_OCR_ONLY=prepare skips serve; BENCH_OCR_COLD=1 sends no screenshot ahead of the corpus (the
 * workers' start-up then counts in the rate).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { DEFAULTS, loadConfig } from '../src/config.ts';
import { OcrSetupError, parseLanguages } from '../src/ocr/languages.ts';
import { PREPARE_DEFAULTS, type PrepareOptions, prepareForOcr } from '../src/ocr/prepare.ts';
import { TesseractCommand } from '../src/ocr/tesseract-command.ts';
import { TesseractPool } from '../src/ocr/tesseract-pool.ts';
import { openRuntime } from '../src/runtime.ts';
import { startFlags, startGazoServer } from './gazo-process.ts';
import { type CorpusImage, makeCorpus } from './ocr-corpus.ts';
import { emptyTally, score, type Tally } from './ocr-metrics.ts';

type Tallies = Record<'en' | 'ja', Tally>;

function tallyAll(corpus: CorpusImage[], texts: string[]): Tallies {
  const tallies = { en: emptyTally(), ja: emptyTally() };
  corpus.forEach((image, i) => {
    for (const lang of ['en', 'ja'] as const) {
      const truth = image.truth.filter((t) => t.lang === lang).map((t) => t.text);
      if (truth.length > 0) score(truth, texts[i] ?? '', lang, tallies[lang]);
    }
  });
  return tallies;
}

const pct = (a: number, b: number) => `${((100 * a) / Math.max(b, 1)).toFixed(1)} %`;

function report(label: string, tallies: Tallies, seconds: number, count: number): void {
  console.log(
    `${label.padEnd(22)} English word recall ${pct(tallies.en.found, tallies.en.units)} (of ${tallies.en.units}), CER ${pct(tallies.en.edits, tallies.en.chars)}; ` +
      `Japanese character recall ${pct(tallies.ja.found, tallies.ja.units)} (of ${tallies.ja.units}), CER ${pct(tallies.ja.edits, tallies.ja.chars)}; ` +
      `${(count / seconds).toFixed(2)} images/s`,
  );
}

async function rawOf(png: Buffer) {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** The engine alone, one worker, on each way of preparing the pixels. */
async function comparePreparation(corpus: CorpusImage[]): Promise<void> {
  const variants: Array<[string, PrepareOptions]> = [
    ['greyscale only', { ...PREPARE_DEFAULTS, upscale: 1, invertDark: false }],
    ['+ invert dark', { ...PREPARE_DEFAULTS, upscale: 1, invertDark: true }],
    ['+ invert, ×1.5', { ...PREPARE_DEFAULTS, upscale: 1.5 }],
    ['+ invert, ×1.6 (default)', PREPARE_DEFAULTS],
    ['+ invert, ×2', { ...PREPARE_DEFAULTS, upscale: 2 }],
  ];
  const pool = await TesseractPool.open({
    languages: parseLanguages(process.env.GAZO_OCR_LANGUAGES || 'eng+jpn'),
    workers: 1,
    timeoutMs: 120_000,
    recycleAfterJobs: 1000,
    recycleAboveRssBytes: Number.POSITIVE_INFINITY,
  });
  try {
    await pool.read(await prepareForOcr(await rawOf(corpus[0]?.png ?? Buffer.alloc(0))));
    for (const [label, options] of variants) {
      const texts: string[] = [];
      const started = performance.now();
      for (const image of corpus)
        texts.push((await pool.read(await prepareForOcr(await rawOf(image.png), options))).text);
      report(label, tallyAll(corpus, texts), (performance.now() - started) / 1000, corpus.length);
      const byKind = new Map<string, Tallies>();
      for (const kind of new Set(corpus.map((c) => c.kind))) {
        const idx = corpus.map((c, i) => (c.kind === kind ? i : -1)).filter((i) => i >= 0);
        byKind.set(
          kind,
          tallyAll(
            idx.map((i) => corpus[i] as CorpusImage),
            idx.map((i) => texts[i] ?? ''),
          ),
        );
      }
      console.log(
        `  by kind: ${[...byKind].map(([k, t]) => `${k} ${t.en.units ? pct(t.en.found, t.en.units) : ''}${t.ja.units ? ` ja ${pct(t.ja.found, t.ja.units)}` : ''}`).join('; ')}`,
      );
    }
  } finally {
    await pool.close();
  }
}

/**
 * CPU seconds the process (all its threads) has used, and with `children` that of the children
 * it has waited for: a figure other work on the machine disturbs less.
 */
async function cpuSecondsOf(pid: number, children = false): Promise<number> {
  const fields = (await fs.readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  // utime and stime, fields 14 and 15 of stat(5); cutime and cstime 16 and 17; in clock ticks (100 a second).
  const own = Number(fields[11]) + Number(fields[12]);
  return (own + (children ? Number(fields[13]) + Number(fields[14]) : 0)) / 100;
}

function memoryOf(pid: number): Promise<{ rss: number; hwm: number }> {
  return fs.readFile(`/proc/${pid}/status`, 'utf8').then((status) => {
    const kb = (field: string) =>
      Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  });
}

/** Resident memory of a process's children (the tesseract command's processes), summed. */
async function childrenRssOf(pid: number): Promise<number> {
  let total = 0;
  const tasks = await fs.readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  for (const task of tasks) {
    const kids = await fs.readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    for (const kid of kids.split(' ').filter(Boolean))
      total += await memoryOf(Number(kid)).then(
        (m) => m.rss,
        () => 0,
      );
  }
  return total;
}

/**
 * Why the tesseract command cannot run here (not installed, a language missing), or undefined
 * when it can: the server's own start-up check, so the second engine is measured only where it runs.
 */
async function commandMissing(): Promise<string | undefined> {
  try {
    const languages = parseLanguages(process.env.GAZO_OCR_LANGUAGES || 'eng+jpn');
    await (await TesseractCommand.open({ languages, workers: 1, timeoutMs: 1000 })).close();
    return undefined;
  } catch (err) {
    if (err instanceof OcrSetupError) return err.message;
    throw err;
  }
}

/** What `gazo serve` starts without GAZO_OCR_WORKERS: the speed target is the default's. */
const DEFAULT_WORKERS = DEFAULTS.ocrWorkers;

/** Images/s of each engine and worker count, for the ratios printed at the end. */
const rates = new Map<string, number>();

/** A real server: upload everything, wait until every text is stored, read it back. */
async function measureServe(corpus: CorpusImage[], engine: string, workers: string): Promise<void> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gazo-bench-ocr-'));
  try {
    const setup = await openRuntime(loadConfig({ dataDir, ocr: false }, {}));
    await setup.accounts.createUser('bench');
    const { token } = await setup.accounts.createToken('bench');
    await setup.close();
    // Run as `npm start` runs it (MALLOC_ARENA_MAX, node flags): the memory operators see.
    const start = await startFlags();
    // Ready at its `OCR:` line: what it reads with (workers, models), in its own words.
    const { server, url: base } = await startGazoServer(
      {
        dataDir,
        nodeFlags: start.flags,
        env: {
          ...process.env,
          ...start.env,
          GAZO_OCR: 'on',
          GAZO_OCR_ENGINE: engine,
          GAZO_OCR_WORKERS: workers,
        },
        label: 'gazo serve',
      },
      /^OCR: /,
    );
    const pid = server.child.pid ?? 0;
    try {
      const idle = await memoryOf(pid);
      let peakRss = 0;
      let peakChildren = 0;
      const upload = async (png: Buffer, name: string): Promise<string> => {
        const body = new FormData();
        body.set('imagedata', new Blob([new Uint8Array(png)]), `${name}.png`);
        const res = await fetch(`${base}/api/upload?access_token=${token}`, { method: 'POST', body });
        if (res.status !== 200) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
        return ((await res.json()) as { image_id: string }).image_id;
      };
      /** Each image's text once every one has some, sampling memory meanwhile. */
      const textsOf = async (ids: string[]): Promise<string[]> => {
        for (const deadline = Date.now() + 600_000; Date.now() < deadline; ) {
          await new Promise((r) => setTimeout(r, 100));
          peakRss = Math.max(peakRss, (await memoryOf(pid)).rss);
          peakChildren = Math.max(peakChildren, await childrenRssOf(pid));
          const list = (await (
            await fetch(`${base}/api/images?per_page=100&access_token=${token}`)
          ).json()) as Array<{ image_id: string; ocr: { description: string } }>;
          const byId = new Map(list.map((i) => [i.image_id, i.ocr.description]));
          const texts = ids.map((id) => byId.get(id) ?? '');
          if (texts.every((t) => t !== '')) return texts;
        }
        throw new Error('OCR did not finish within 10 minutes');
      };
      // Workers start on first need and are replaced only every OCR_RECYCLE_AFTER_READS reads
      // (runtime.ts): one screenshot per worker first, so that the rate below is a running
      // server's, and the start-up is printed on its own. Encoded at another level than the
      // corpus (sharp's default, 6), so that they are new files, not copies the store dedupes.
      const warmStarted = performance.now();
      const warmUps = process.env.BENCH_OCR_COLD === '1' ? 0 : Number(workers);
      const warmIds: string[] = [];
      for (const image of corpus.slice(0, warmUps))
        warmIds.push(await upload(await sharp(image.png).png({ compressionLevel: 9 }).toBuffer(), 'warm-up'));
      if (warmUps > 0) await textsOf(warmIds);
      const warmSeconds = (performance.now() - warmStarted) / 1000;
      const cpuBefore = await cpuSecondsOf(pid, true);
      const started = performance.now();
      const ids: string[] = [];
      for (const image of corpus) ids.push(await upload(image.png, image.name));
      const uploaded = performance.now();
      const texts = await textsOf(ids);
      const seconds = (performance.now() - started) / 1000;
      const tallies = tallyAll(corpus, texts);
      report(`${engine}, ${workers} worker(s)`, tallies, seconds, corpus.length);
      rates.set(`${engine} ${workers}`, corpus.length / seconds);
      console.log(`  ${server.line}`);
      const mem = await memoryOf(pid);
      // The tesseract command's processes are the server's children: their CPU is counted once
      // they have been waited for (cutime and cstime), which every finished read has.
      const cpu = (await cpuSecondsOf(pid, true)) - cpuBefore;
      console.log(
        `  server CPU ${(cpu / corpus.length).toFixed(2)} s an image (upload, decode, thumbnail and OCR): at most ${(os.cpus().length / (cpu / corpus.length)).toFixed(2)} images/s on ${os.cpus().length} idle cores; load average ${os.loadavg()[0]?.toFixed(1)} during the run`,
      );
      console.log(
        (warmUps > 0
          ? `  first ${warmUps} read(s), start-up included, took ${warmSeconds.toFixed(1)} s (before the rate's window); `
          : '  cold: the workers started within the window; ') +
          `uploads took ${((uploaded - started) / 1000).toFixed(1)} s; all read after ${seconds.toFixed(1)} s; ` +
          `server RSS idle ${(idle.rss / 2 ** 20).toFixed(0)} MB, peak ${(Math.max(peakRss, mem.hwm) / 2 ** 20).toFixed(0)} MB (VmHWM), after ${(mem.rss / 2 ** 20).toFixed(0)} MB` +
          (peakChildren > 0
            ? `; its tesseract processes peak ${(peakChildren / 2 ** 20).toFixed(0)} MB together (sampled)`
            : ''),
      );
      const peakMb = Math.max(peakRss, mem.hwm) / 2 ** 20;
      const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
      console.log(
        `  targets: English word recall ≥ 97 % ${verdict(tallies.en.found >= 0.97 * tallies.en.units)}, ` +
          `Japanese character recall ≥ 95 % ${verdict(tallies.ja.found >= 0.95 * tallies.ja.units)}, ` +
          (engine === 'tesseract.js' && Number(workers) === DEFAULT_WORKERS
            ? `≥ 1.5 images/s (the default engine and workers) ${verdict(corpus.length / seconds >= 1.5)}, `
            : '') +
          `server RSS under 400 MB ${verdict(peakMb < 400)}`,
      );
      if (process.env.BENCH_OCR_SHOW) {
        for (const [i, c] of corpus.entries()) console.log(`--- ${c.name}\n${texts[i]}`);
      }
    } finally {
      await server.stop();
    }
  } finally {
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

const corpus = await makeCorpus();
console.log(
  `corpus: ${corpus.length} screenshots, 1280×720 (${[...new Set(corpus.map((c) => c.kind))].join(', ')})`,
);
if (process.env.BENCH_OCR_PREPARE === '1' || process.env.BENCH_OCR_ONLY === 'prepare')
  await comparePreparation(corpus);
// The server's own GAZO_OCR_WORKERS picks one count; else both 1 and 2 (the default on two cores).
const workerCounts = (process.env.GAZO_OCR_WORKERS || process.env.BENCH_OCR_WORKERS || '1,2').split(',');
if (process.env.BENCH_OCR_ONLY !== 'prepare') {
  for (const engine of (process.env.BENCH_OCR_ENGINES || 'tesseract.js,tesseract').split(',')) {
    const missing = engine === 'tesseract' ? await commandMissing() : undefined;
    if (missing) {
      console.log(`tesseract: skipped, ${missing}`);
      continue;
    }
    for (const workers of workerCounts) await measureServe(corpus, engine, workers);
  }
  // This machine's speed drifts by half between runs hours apart; the native command on the
  // same models, in the same run, is the yardstick that drifts with it.
  for (const workers of workerCounts) {
    const js = rates.get(`tesseract.js ${workers}`);
    const native = rates.get(`tesseract ${workers}`);
    if (js && native)
      console.log(`tesseract.js / tesseract command, ${workers} worker(s): ${(js / native).toFixed(2)}×`);
  }
}
