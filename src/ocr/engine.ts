import type { OcrImage } from './prepare.ts';

export interface OcrResult {
  /** Cleaned text with its line breaks; empty when nothing was read. */
  text: string;
  /** Main language as a locale code (`en`, `ja`, …); null when there is no text. */
  locale: string | null;
}

/** Something that reads text: the tesseract.js worker pool, or the tesseract command. */
export interface OcrEngine {
  /** What reads, for the start-up line: engine, languages, workers, and where the models come from. */
  readonly description: string;
  read(image: OcrImage): Promise<OcrResult>;
  close(): Promise<void>;
}

export class OcrTimeoutError extends Error {}

/**
 * How much lower OCR's CPU priority is than the server's (added to its Unix nice value, up to
 * 19): reading may keep every core busy for minutes while a backlog clears, and requests must
 * not wait behind it. Idle cores still go to OCR. tesseract-thread.cjs uses the same value for
 * tesseract.js's threads.
 */
export const OCR_NICENESS = 10;
