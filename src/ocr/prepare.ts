import type { Pixels } from '../imaging/imaging.ts';
import { loadSharp } from '../imaging/imaging.ts';

/** What the engine reads: 8-bit greyscale, dark text on a light ground. */
export interface OcrImage {
  data: Buffer;
  width: number;
  height: number;
}

export interface PrepareOptions {
  /** Images whose longest side is at most `upscaleUpTo` are scaled up by `upscale` (1: never). */
  upscale: number;
  upscaleUpTo: number;
  /** Larger images are scaled down to about this many pixels: more costs time, not recall. */
  maxPixels: number;
  /** Invert images whose mean brightness is dark (dark themes). */
  invertDark: boolean;
}

export const PREPARE_DEFAULTS: PrepareOptions = {
  upscale: 1.6,
  upscaleUpTo: 1600,
  maxPixels: 12_000_000,
  invertDark: true,
};

/**
 * Screenshot text is small and often light on dark. Step one, from the decoded pixels: colour
 * dropped, dark themes inverted, huge images scaled down, and the result kept as a greyscale
 * PNG (tens of KB for a screenshot, against megabytes raw) until the OCR job reads it.
 */
export async function preparePixels(
  pixels: Pixels,
  options: PrepareOptions = PREPARE_DEFAULTS,
): Promise<Buffer> {
  const { width, height, channels } = pixels;
  const sharp = await loadSharp();
  const limit = options.maxPixels / scaleOf(width, height, options) ** 2;
  let pipeline = sharp(pixels.data, { raw: { width, height, channels } });
  if (channels === 2 || channels === 4) pipeline = pipeline.flatten({ background: '#ffffff' });
  pipeline = pipeline.greyscale();
  if (width * height > limit) {
    const shrink = Math.sqrt(limit / (width * height));
    pipeline = pipeline.resize(
      Math.max(1, Math.round(width * shrink)),
      Math.max(1, Math.round(height * shrink)),
    );
  }
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (options.invertDark && meanOf(data) < 110)
    for (let i = 0; i < data.length; i++) data[i] = 255 - (data[i] ?? 0);
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 1 })
    .toBuffer();
}

/**
 * Step two, in the OCR job: tesseract's LSTM models read text of about 20–30 px best, and
 * screenshot text is 11–16 px, so small screenshots are scaled up (see bench/ocr.ts for what
 * each step gains). ×1.6 reads as well as ×2 with two thirds of the pixels: a smaller engine
 * heap and a little less CPU. ×1.5 misread monospace code (`parselInvoice`): half-pixel phases.
 */
export async function engineInput(
  kept: Buffer,
  options: PrepareOptions = PREPARE_DEFAULTS,
): Promise<OcrImage> {
  const sharp = await loadSharp();
  let pipeline = sharp(kept).greyscale();
  const { width = 1, height = 1 } = await sharp(kept).metadata();
  const scale = scaleOf(width, height, options);
  if (scale !== 1) {
    pipeline = pipeline.resize(Math.round(width * scale), Math.round(height * scale), { kernel: 'cubic' });
  }
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Both steps at once: for the benchmark and tests. */
export async function prepareForOcr(
  pixels: Pixels,
  options: PrepareOptions = PREPARE_DEFAULTS,
): Promise<OcrImage> {
  return engineInput(await preparePixels(pixels, options), options);
}

function scaleOf(width: number, height: number, options: PrepareOptions): number {
  return Math.max(width, height) <= options.upscaleUpTo ? options.upscale : 1;
}

function meanOf(data: Buffer): number {
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i] ?? 0;
  return data.length === 0 ? 255 : sum / data.length;
}

/** As a binary PGM file: leptonica reads it without decoding anything. */
export function toPgm(image: OcrImage): Buffer {
  return Buffer.concat([Buffer.from(`P5\n${image.width} ${image.height}\n255\n`), image.data]);
}
