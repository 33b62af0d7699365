import v8 from 'node:v8';
import { createWorker, OEM, type Worker } from 'tesseract.js';
import { sourceFile } from '../source-files.ts';
import { type OcrEngine, type OcrResult, OcrTimeoutError } from './engine.ts';
import { findModels, type Language, linkModels, type ModelFile } from './languages.ts';
import { type OcrImage, toPgm } from './prepare.ts';
import { cleanText, detectLocale } from './text.ts';

export interface PoolOptions {
  languages: Language[];
  /** Where the models come from: see `findModels` (default `auto`). */
  models?: string;
  /** Worker threads, each with its own copy of the models (~100 MB for eng+jpn). */
  workers: number;
  /** A read taking longer than this kills its worker. */
  timeoutMs: number;
  /** tesseract.js workers grow with use (its issues #977, #1045): each is replaced after this many reads… */
  recycleAfterJobs: number;
  /** …or as soon as the process's resident memory is past this after a read. */
  recycleAboveRssBytes: number;
  /** Resident memory now; the process's unless a test says otherwise. */
  rss?: () => number;
}

/** tesseract.js's worker script, run at a lower CPU priority: see the file. */
const THREAD_SCRIPT = sourceFile('ocr/tesseract-thread.cjs');

interface Slot {
  worker: Promise<Worker> | undefined;
  reads: number;
}

/**
 * A fixed number of tesseract.js worker threads, each started when first needed. Reads queue
 * for a free worker; the worker that times out is terminated and the next read starts a new one.
 */
export class TesseractPool implements OcrEngine {
  private readonly slots: Slot[] = [];
  private readonly free: Slot[] = [];
  private readonly waiting: Array<(slot: Slot) => void> = [];
  private closed = false;
  /** Workers started and recycled so far: for tests and status. */
  readonly stats = { started: 0, recycled: 0, timedOut: 0 };

  private constructor(
    private readonly options: PoolOptions,
    private readonly models: { dir: string; remove(): Promise<void> },
    /** Each language's model file, and whether it is tesseract's installed one or npm's. */
    readonly modelFiles: ModelFile[],
  ) {
    for (let i = 0; i < options.workers; i++) this.slots.push({ worker: undefined, reads: 0 });
    this.free.push(...this.slots);
  }

  /** Checks that every language's data is installed (a clear error if not) and makes the pool. */
  static async open(options: PoolOptions): Promise<TesseractPool> {
    keepWasmInBaselineTier();
    const files = await findModels(options.languages, options.models ?? 'auto');
    return new TesseractPool(options, await linkModels(files), files);
  }

  get description(): string {
    const { workers } = this.options;
    const models = this.modelFiles
      .map((m) => `${m.code} ${m.from === 'npm' ? 'from npm (best_int)' : m.file}`)
      .join(', ');
    return `tesseract.js, ${workers} worker${workers === 1 ? '' : 's'}; models ${models}`;
  }

  async read(image: OcrImage): Promise<OcrResult> {
    if (this.closed) throw new Error('OCR engine is closed');
    const slot = await this.acquire();
    try {
      const worker = await this.workerOf(slot);
      const text = await this.withTimeout(slot, worker.recognize(toPgm(image)));
      slot.reads++;
      const rss = this.options.rss?.() ?? process.memoryUsage.rss();
      if (slot.reads >= this.options.recycleAfterJobs || rss > this.options.recycleAboveRssBytes) {
        this.stats.recycled++;
        await this.retire(slot);
      }
      const cleaned = cleanText(text.data.text);
      return { text: cleaned, locale: cleaned ? detectLocale(cleaned, this.options.languages) : null };
    } finally {
      this.release(slot);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((slot) => this.retire(slot)));
    await this.models.remove();
  }

  private workerOf(slot: Slot): Promise<Worker> {
    if (!slot.worker) {
      this.stats.started++;
      const langs = this.options.languages.map((l) => l.code).join('+');
      // cacheMethod 'none': tesseract.js would otherwise write the models to the working directory.
      const starting = createWorker(langs, OEM.LSTM_ONLY, {
        langPath: this.models.dir,
        cacheMethod: 'none',
        // Named without .gz; tesseract.js still unpacks the gzipped npm models, by magic number.
        gzip: false,
        workerPath: THREAD_SCRIPT,
      });
      slot.worker = starting;
      starting.catch(() => {
        if (slot.worker === starting) slot.worker = undefined;
      });
    }
    return slot.worker;
  }

  private async withTimeout<T>(slot: Slot, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.stats.timedOut++;
        // Terminating the thread is the only way to stop tesseract mid-page.
        void this.retire(slot);
        reject(new OcrTimeoutError(`OCR took longer than ${this.options.timeoutMs} ms`));
      }, this.options.timeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async retire(slot: Slot): Promise<void> {
    const worker = slot.worker;
    slot.worker = undefined;
    slot.reads = 0;
    if (worker) await worker.then((w) => w.terminate()).catch(() => undefined);
  }

  private acquire(): Promise<Slot> {
    const slot = this.free.pop();
    if (slot) return Promise.resolve(slot);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(slot: Slot): void {
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.free.push(slot);
  }
}

/**
 * V8 recompiles hot WebAssembly functions with its optimising compiler; on tesseract that
 * leaves 15–30 MB more resident (compiler memory glibc keeps) and buys nothing measurable.
 * bench:ocr, alternated three times each, baseline code only against tiering up: 1 worker
 * 255–261 against 284–293 MB at 0.93–1.03 against 0.85–0.97 images/s; 2 workers 369–381
 * against 386–396 MB at 1.52–1.81 against 1.58–1.68 images/s. A budget no function spends keeps
 * every function in the baseline tier. V8 reads it when it compiles a module, so setting it
 * before the first worker starts is enough; nothing else in Gazo runs WebAssembly hot.
 */
function keepWasmInBaselineTier(): void {
  v8.setFlagsFromString('--wasm-tiering-budget=1000000000');
}
