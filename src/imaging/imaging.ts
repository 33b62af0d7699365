import { open } from 'node:fs/promises';
import type { Metadata, default as Sharp, Sharp as SharpPipeline } from 'sharp';
import { hasAcceptedSignature, SNIFF_BYTES, unsupportedImageType } from './sniff.ts';

/** The image types Gazo accepts, as the wire `type` and file extension name them. */
export const IMAGE_TYPES = {
  png: 'image/png',
  jpg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
} as const;
export type ImageType = keyof typeof IMAGE_TYPES;

const FROM_SHARP_FORMAT: Record<string, ImageType> = { png: 'png', jpeg: 'jpg', gif: 'gif', webp: 'webp' };

export interface ImageInfo {
  type: ImageType;
  /** Display size, after EXIF orientation. */
  width: number;
  height: number;
}

export type ImagingFailure = 'not_an_image' | 'too_many_pixels' | 'corrupt';

export class ImagingError extends Error {
  constructor(
    readonly reason: ImagingFailure,
    message: string,
  ) {
    super(message);
  }
}

let loading: Promise<typeof Sharp> | undefined;

/**
 * sharp (libvips) is loaded on first use, not at start: it is a third of an idle server's
 * memory, and a server that has decoded nothing yet does not need it.
 */
export function loadSharp(): Promise<typeof Sharp> {
  loading ??= import('sharp').then(({ default: sharp }) => {
    // Decoding is CPU work in libvips' own threads; two cores are better spent on two images at once.
    sharp.concurrency(1);
    sharp.cache(false);
    return sharp;
  });
  return loading;
}

/** A plain square of one colour, in PNG. */
export async function solidPng(width: number, height: number, background: string): Promise<Buffer> {
  const sharp = await loadSharp();
  return sharp({ create: { width, height, channels: 3, background } })
    .png()
    .toBuffer();
}

/** An image in memory, or the path of a file holding one: sharp reads either. */
export type ImageInput = Buffer | string;

async function firstBytes(input: ImageInput): Promise<Buffer> {
  if (typeof input !== 'string') return input.subarray(0, SNIFF_BYTES);
  const file = await open(input, 'r');
  try {
    const head = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await file.read(head, 0, SNIFF_BYTES, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/**
 * Reads the header only: the type (from the bytes, never a filename) and the canvas size,
 * refusing what is not an accepted image or is too large to decode safely. Only bytes that start
 * as an accepted type does reach libvips: its TIFF, SVG, HEIF and other loaders never see an
 * upload, and known other types are named in the refusal.
 */
export async function inspectImage(input: ImageInput, maxPixels: number): Promise<ImageInfo> {
  const head = await firstBytes(input);
  if (!hasAcceptedSignature(head)) {
    const named = unsupportedImageType(head);
    throw new ImagingError(
      'not_an_image',
      named ? `${named} is not supported; send PNG, JPEG, GIF or WebP` : 'Not an Image',
    );
  }
  let meta: Metadata;
  try {
    meta = await (await loadSharp())(input, { limitInputPixels: false }).metadata();
  } catch {
    throw new ImagingError('not_an_image', 'Not an Image');
  }
  const type = meta.format ? FROM_SHARP_FORMAT[meta.format] : undefined;
  if (!type || !meta.width || !meta.height) throw new ImagingError('not_an_image', 'Not an Image');
  const frameHeight = meta.pageHeight ?? meta.height;
  if (meta.width * frameHeight > maxPixels) {
    throw new ImagingError(
      'too_many_pixels',
      `Image is too large: ${meta.width}x${frameHeight} pixels is more than the limit of ${maxPixels}`,
    );
  }
  const oriented = meta.autoOrient ?? { width: meta.width, height: frameHeight };
  return { type, width: oriented.width, height: oriented.height };
}

/**
 * Decodes the image fully (so a truncated or corrupt file is caught here) into a thumbnail of
 * the same type that fits `size`×`size`: shrink-on-load where the codec allows it, EXIF
 * orientation applied, metadata stripped, first frame only for animations.
 */
export async function makeThumbnail(
  input: ImageInput,
  info: ImageInfo,
  size: number,
  maxPixels: number,
): Promise<Buffer> {
  try {
    const sharp = await loadSharp();
    const pipeline = sharp(input, { failOn: 'error', limitInputPixels: maxPixels, autoOrient: true }).resize(
      size,
      size,
      { fit: 'inside', withoutEnlargement: true },
    );
    return await encodeAs(info.type, pipeline);
  } catch {
    throw new ImagingError('corrupt', 'Image is truncated or corrupt');
  }
}

/** Decoded pixels, as sharp gives them raw: `channels` bytes per pixel, row by row. */
export interface Pixels {
  data: Buffer;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/**
 * Decodes the whole image once (so a truncated or corrupt file is caught here) to raw pixels,
 * scaled down while decoding (shrink-on-load where the codec allows) to at most `fitPixels`, so
 * that a huge canvas never sits in memory whole: EXIF orientation applied, first frame only for
 * animations. Thumbnail and OCR input are both made from these.
 */
export async function decodePixels(input: ImageInput, maxPixels: number, fitPixels: number): Promise<Pixels> {
  try {
    const sharp = await loadSharp();
    let pipeline = sharp(input, { failOn: 'error', limitInputPixels: maxPixels, autoOrient: true });
    const meta = await pipeline.metadata();
    const { width = 1, height = 1 } = meta.autoOrient ?? {
      width: meta.width,
      height: meta.pageHeight ?? meta.height,
    };
    if (width * height > fitPixels) {
      const scale = Math.sqrt(fitPixels / (width * height));
      pipeline = pipeline.resize(
        Math.max(1, Math.floor(width * scale)),
        Math.max(1, Math.floor(height * scale)),
      );
    }
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch {
    throw new ImagingError('corrupt', 'Image is truncated or corrupt');
  }
}

/** A thumbnail of `type` that fits `size`×`size`, from decoded pixels (see makeThumbnail). */
export async function thumbnailFromPixels(pixels: Pixels, type: ImageType, size: number): Promise<Buffer> {
  const { data, width, height, channels } = pixels;
  const sharp = await loadSharp();
  return encodeAs(
    type,
    sharp(data, { raw: { width, height, channels } }).resize(size, size, {
      fit: 'inside',
      withoutEnlargement: true,
    }),
  );
}

function encodeAs(type: ImageType, pipeline: SharpPipeline): Promise<Buffer> {
  switch (type) {
    case 'png':
      return pipeline.png({ compressionLevel: 6 }).toBuffer();
    case 'jpg':
      return pipeline.jpeg({ quality: 82 }).toBuffer();
    case 'gif':
      return pipeline.gif().toBuffer();
    case 'webp':
      return pipeline.webp({ quality: 80 }).toBuffer();
  }
}

/** True when the bytes decode cleanly to pixels: for checking stored thumbnails (`gazo fsck`). */
export async function decodesCleanly(bytes: Buffer): Promise<boolean> {
  try {
    await (await loadSharp())(bytes, { failOn: 'error' }).raw().toBuffer();
    return true;
  } catch {
    return false;
  }
}
