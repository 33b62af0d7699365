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
