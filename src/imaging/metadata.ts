import { open } from 'node:fs/promises';
import type { ImageInput, ImageType } from './imaging.ts';
import { ChangeDetector, type Edits, EditWriter } from './strip/edits.ts';
import type { ExifFacts, GeoLocation } from './strip/exif.ts';
import { FileBytes, type ImageBytes, withImageBytes } from './strip/file-bytes.ts';
import { stripGif } from './strip/gif.ts';
import { stripJpeg } from './strip/jpeg.ts';
import { stripPng } from './strip/png.ts';
import { stripWebp } from './strip/webp.ts';

export type { GeoLocation } from './strip/exif.ts';

type Stripper = (src: ImageBytes, edits: Edits) => Promise<ExifFacts | undefined>;

const STRIPPERS: Record<ImageType, Stripper> = {
  jpg: stripJpeg,
  png: stripPng,
  webp: stripWebp,
  gif: stripGif,
};

export interface IdentifyingMetadata {
  /** Whether the file holds anything that stripping would remove. */
  present: boolean;
  /** The GPS position from its EXIF, when there is one. */
  location?: GeoLocation;
}

export interface StrippedImage {
  /** False when there was nothing to remove: then no output file is left. */
  changed: boolean;
  /** Of the output file, when changed. */
  sha256?: string;
  size?: number;
  location?: GeoLocation;
}

/**
 * Reads what `stripIdentifyingMetadata` would remove, and the location, without writing
 * anything (for `--keep-metadata`, which keeps the bytes but still records the location).
 * Throws an ImagingError ('corrupt') for a file whose structure ends early or makes no sense.
 */
export async function readIdentifyingMetadata(
  input: ImageInput,
  type: ImageType,
): Promise<IdentifyingMetadata> {
  return withImageBytes(input, async (bytes) => {
    const detector = new ChangeDetector();
    const exif = await STRIPPERS[type](bytes, detector);
    return withLocation({ present: detector.changed }, exif);
  });
}

/**
 * Copies the image at `inputPath` to `outputPath` without what could identify its author or
 * place: EXIF (written back holding only the orientation, when that is not 1), XMP, IPTC,
 * comments, text chunks, vendor blocks, and anything after the end of the image. The pixels are
 * the same bytes (nothing is decoded or re-encoded); the ICC profile stays. Memory stays flat:
 * headers are read by position, image data is copied through a fixed buffer. A caller that
 * holds the file's bytes already (`inMemory`, a small upload) saves the reads of the first pass.
 *
 * Runs the format's parser once to see whether anything must go, and a second time, writing,
 * only if so. The output is not fsynced: the blob store that takes it does that.
 */
export async function stripIdentifyingMetadata(
  inputPath: string,
  outputPath: string,
  type: ImageType,
  inMemory?: Buffer,
  /** Resolves once `inputPath` may be read (see StagedFile.written). */
  inputWritten: () => Promise<void> = () => Promise.resolve(),
): Promise<StrippedImage> {
  const strip = STRIPPERS[type];
  const detector = new ChangeDetector();
  const exif = await withImageBytes(inMemory ?? inputPath, (bytes) => strip(bytes, detector));
  if (!detector.changed) return withLocation({ changed: false }, exif);
  await inputWritten();
  const input = await open(inputPath, 'r');
  try {
    const writer = await EditWriter.create(input, outputPath);
    try {
      await strip(new FileBytes(input, (await input.stat()).size), writer);
      return withLocation({ changed: true, ...(await writer.finish()) }, exif);
    } catch (err) {
      await writer.abort();
      throw err;
    }
  } finally {
    await input.close();
  }
}

function withLocation<T extends object>(
  result: T,
  exif: ExifFacts | undefined,
): T & { location?: GeoLocation } {
  return exif?.location ? { ...result, location: exif.location } : result;
}
