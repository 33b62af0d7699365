import { type ChildProcess, execFile, spawn } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import { OCR_NICENESS, type OcrEngine, type OcrResult, OcrTimeoutError } from './engine.ts';
import { type Language, OcrSetupError } from './languages.ts';
import { type OcrImage, toPgm } from './prepare.ts';
import { cleanText, detectLocale } from './text.ts';

export interface CommandOptions {
  languages: Language[];
  /** Reads at once, each its own `tesseract` process. */
  workers: number;
  /** A read taking longer than this kills its process. */
  timeoutMs: number;
  /** The program: `tesseract` on the PATH unless a test says otherwise. */
  command?: string;
}

/** Kept small: a read prints its text, so anything past this is a runaway process. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/**
 * Debian's `tesseract` command (package tesseract-ocr, a package per language) as the engine:
 * native code with the distribution's "fast" LSTM models, about twice the speed of tesseract.js
 * on this kind of machine (see bench/ocr.ts). One process per read, fed the PGM on stdin and
 * read from stdout, so nothing touches the disk and a crash or a timeout costs only that read.
 */
export class TesseractCommand implements OcrEngine {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly children = new Set<ChildProcess>();
  private closed = false;
  readonly stats = { started: 0, timedOut: 0 };

  private constructor(
    private readonly options: CommandOptions,
    private readonly command: string,
  ) {}

  /** Checks that the command runs and has every language (a clear error naming the package if not). */
  static async open(options: CommandOptions): Promise<TesseractCommand> {
    const command = options.command ?? 'tesseract';
    let listed: string;
    try {
      const { stdout, stderr } = await promisify(execFile)(command, ['--list-langs'], { timeout: 10_000 });
      listed = `${stdout}\n${stderr}`;
    } catch (err) {
      throw new OcrSetupError(
        `the OCR engine "tesseract" needs the tesseract command (Debian: apt-get install tesseract-ocr): ${(err as Error).message.split('\n')[0]}`,
      );
    }
    const installed = new Set(listed.split('\n').map((line) => line.trim()));
    const missing = options.languages.filter((l) => !installed.has(l.code));
    if (missing.length > 0) {
      const packages = missing.map((l) => `tesseract-ocr-${l.code.replace(/_/g, '-')}`).join(' ');
      throw new OcrSetupError(
        `tesseract has no data for ${missing.map((l) => `"${l.code}"`).join(', ')} (Debian: apt-get install ${packages})`,
      );
    }
    return new TesseractCommand(options, command);
  }

  get description(): string {
    const { workers, languages } = this.options;
    return `the ${this.command} command, ${workers} process${workers === 1 ? '' : 'es'} at once; languages ${languages.map((l) => l.code).join('+')}`;
  }

  async read(image: OcrImage): Promise<OcrResult> {
    if (this.closed) throw new Error('OCR engine is closed');
    await this.acquire();
    try {
      const cleaned = cleanText(await this.run(toPgm(image)));
      return { text: cleaned, locale: cleaned ? detectLocale(cleaned, this.options.languages) : null };
    } finally {
      this.release();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const child of this.children) child.kill('SIGKILL');
  }

  private run(pgm: Buffer): Promise<string> {
    const langs = this.options.languages.map((l) => l.code).join('+');
    // --psm 6 (one block of text), as tesseract.js's API default: the command's own default,
    // page layout analysis, lost dim line numbers and button labels in the benchmark's screenshots.
    const args = ['stdin', 'stdout', '-l', langs, '--oem', '1', '--psm', '6'];
    return new Promise((resolve, reject) => {
      this.stats.started++;
      // OMP_THREAD_LIMIT=1: tesseract's OpenMP threads fight each other on a small machine;
      // one thread per read is several times faster there, and reads run side by side instead.
      const child = spawn(this.command, args, {
        cwd: os.tmpdir(),
        env: { ...process.env, OMP_THREAD_LIMIT: '1' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      this.children.add(child);
      if (child.pid !== undefined) lowerPriority(child.pid);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outBytes = 0;
      let failure: Error | undefined;
      const timer = setTimeout(() => {
        this.stats.timedOut++;
        failure = new OcrTimeoutError(`OCR took longer than ${this.options.timeoutMs} ms`);
        child.kill('SIGKILL');
      }, this.options.timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => {
        outBytes += chunk.length;
        if (outBytes > MAX_OUTPUT_BYTES) {
          failure ??= new Error('tesseract printed more than 16 MiB');
          child.kill('SIGKILL');
        } else out.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (err.length < 64) err.push(chunk);
      });
      // A process that dies before reading all of stdin makes the write fail: its exit says why.
      child.stdin.on('error', () => {});
      child.on('error', (e) => {
        failure ??= e;
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.children.delete(child);
        if (failure) return reject(failure);
        if (this.closed && signal) return reject(new Error('OCR engine is closed'));
        if (code !== 0) {
          const said = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-3).join(' | ');
          return reject(new Error(`tesseract exited with ${code ?? signal}: ${said}`));
        }
        resolve(Buffer.concat(out).toString('utf8'));
      });
      child.stdin.end(pgm);
    });
  }

  private acquire(): Promise<void> {
    if (this.running < this.options.workers) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}

/** Runs a read at OCR's priority; it starts by loading its models, so lowering it just after spawn is in time. */
function lowerPriority(pid: number): void {
  try {
    os.setPriority(pid, Math.min(19, os.getPriority() + OCR_NICENESS));
  } catch {
    // The process has already ended (its exit reports why), or this system refuses.
  }
}
