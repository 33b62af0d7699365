import sharp from 'sharp';
import type { Pixels } from '../imaging/imaging.ts';

/** What the engine reads: 8-bit greyscale, dark text on a light ground. */
export interface OcrImage {
  data: Buffer;
  width: number;
  height: number;
}

export interface PrepareOptions {
  /** Images whose longest side is at most this are scaled up ×2 (0: never). */
  upscaleUpTo: number;
  /** Larger images are scaled down to about this many pixels: more costs time, not recall. */
  maxPixels: number;
  /** Invert images whose mean brightness is dark (dark themes). */
  invertDark: boolean;
}

export const PREPARE_DEFAULTS: PrepareOptions = {
  upscaleUpTo: 1600,
  maxPixels: 12_000_000,
  invertDark: true,
};

/**
 * Screenshot text is small and often light on dark. Tesseract's LSTM models read dark text of
 * about 20–30 px best, so small screenshots are scaled up ×2, dark ones inverted, colour
 * dropped (see bench/ocr.ts for what each step gains).
 */
export async function prepareForOcr(
  pixels: Pixels,
  options: PrepareOptions = PREPARE_DEFAULTS,
): Promise<OcrImage> {
  const { width, height, channels } = pixels;
  let scale = options.upscaleUpTo > 0 && Math.max(width, height) <= options.upscaleUpTo ? 2 : 1;
  if (width * height * scale * scale > options.maxPixels)
    scale = Math.sqrt(options.maxPixels / (width * height));
  let pipeline = sharp(pixels.data, { raw: { width, height, channels } });
  if (channels === 2 || channels === 4) pipeline = pipeline.flatten({ background: '#ffffff' });
  pipeline = pipeline.greyscale();
  if (scale !== 1) {
    pipeline = pipeline.resize(
      Math.max(1, Math.round(width * scale)),
      Math.max(1, Math.round(height * scale)),
      {
        kernel: scale > 1 ? 'cubic' : 'lanczos3',
      },
    );
  }
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  const image = { data, width: info.width, height: info.height };
  if (options.invertDark && meanOf(data) < 110)
    for (let i = 0; i < data.length; i++) data[i] = 255 - (data[i] ?? 0);
  return image;
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
