import type { Pixels } from '../imaging/imaging.ts';
import { PREPARE_DEFAULTS, preparePixels } from './prepare.ts';

/**
 * OCR input made from the thumbnail job's decode (a greyscale PNG, see preparePixels), kept
 * until the OCR job takes it: so that an image is decoded once. Bounded in bytes, oldest dropped
 * first; a dropped entry (or one made before a restart) costs that image a second decode.
 */
export class PreparedPixels {
  /** The most pixels OCR reads: decodes for it need not be larger. */
  readonly maxPixels = PREPARE_DEFAULTS.maxPixels;
  private readonly kept = new Map<string, Buffer>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly prepare: (pixels: Pixels) => Promise<Buffer> = (p) => preparePixels(p),
  ) {}

  /** Prepares the OCR input from freshly decoded pixels and keeps it for `take`. */
  async keep(blobKey: string, pixels: Pixels): Promise<void> {
    const image = await this.prepare(pixels);
    this.drop(blobKey);
    if (image.length > this.maxBytes) return;
    while (this.bytes + image.length > this.maxBytes) {
      const oldest = this.kept.keys().next().value;
      if (oldest === undefined) break;
      this.drop(oldest);
    }
    this.kept.set(blobKey, image);
    this.bytes += image.length;
  }

  /** The kept input for the blob, forgotten as it is handed over. */
  take(blobKey: string): Buffer | undefined {
    const image = this.kept.get(blobKey);
    this.drop(blobKey);
    return image;
  }

  /** Prepares OCR input without keeping it: for images whose decode was not kept. */
  from(pixels: Pixels): Promise<Buffer> {
    return this.prepare(pixels);
  }

  private drop(blobKey: string): void {
    const image = this.kept.get(blobKey);
    if (!image) return;
    this.kept.delete(blobKey);
    this.bytes -= image.length;
  }
}
