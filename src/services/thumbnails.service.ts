import { type BlobStore, originalKey, thumbnailKey } from '../blobs/blob-store.ts';
import { DecodeBudget } from '../imaging/decode-budget.ts';
import { type ImageType, ImagingError, makeThumbnail, solidPng } from '../imaging/imaging.ts';
import type { ImageRow } from '../store/schema.ts';
import type { MetadataStore } from '../store/types.ts';

export interface ThumbnailLimits {
  thumbSize: number;
  maxPixels: number;
}

/**
 * Thumbnails are made after the upload has answered: by the `image.thumbnail` job, or on
 * demand when one is asked for first. This is the image's one full decode, under the decode
 * budget. However many ask at once, each blob is decoded once. Pixels that turn out not to
 * decode are recorded on the image (fsck reports them) and get a placeholder, never a retry loop.
 */
export class ThumbnailService {
  private readonly inFlight = new Map<string, Promise<Buffer | undefined>>();
  private placeholderPng: Promise<Buffer> | undefined;

  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly budget: DecodeBudget,
    private readonly limits: ThumbnailLimits,
  ) {}

  /** The thumbnail's bytes, made now if need be; undefined when the original is gone. */
  async get(row: ImageRow): Promise<{ bytes: Buffer; placeholder: boolean } | undefined> {
    if (!row.decode_error) {
      const key = thumbnailKey(row.blob_key, this.limits.thumbSize);
      const bytes = (await this.blobs.read(key)) ?? (await this.make(row));
      if (bytes) return { bytes, placeholder: false };
      const now = await this.store.images.findByImageId(row.image_id);
      if (!now?.decode_error) return undefined;
    }
    return { bytes: await this.placeholder(), placeholder: true };
  }

  /** The job: make the blob's thumbnail unless it exists, or its images are gone. */
  async runJob(payload: { blobKey: string }): Promise<void> {
    if (await this.blobs.exists(thumbnailKey(payload.blobKey, this.limits.thumbSize))) return;
    const row = await this.store.images.findByBlobKey(payload.blobKey);
    if (row && !row.decode_error) await this.make(row);
  }

  private make(row: ImageRow): Promise<Buffer | undefined> {
    let pending = this.inFlight.get(row.blob_key);
    if (!pending) {
      pending = this.decode(row).finally(() => this.inFlight.delete(row.blob_key));
      this.inFlight.set(row.blob_key, pending);
    }
    return pending;
  }

  private async decode(row: ImageRow): Promise<Buffer | undefined> {
    const file = await this.blobs.localFile(originalKey(row.blob_key));
    if (!file) return undefined;
    const info = { type: row.type as ImageType, width: row.width, height: row.height };
    try {
      const thumb = await this.budget.run(DecodeBudget.costOf(row.width, row.height), () =>
        makeThumbnail(file, info, this.limits.thumbSize, this.limits.maxPixels),
      );
      await this.blobs.put(thumbnailKey(row.blob_key, this.limits.thumbSize), thumb);
      return thumb;
    } catch (err) {
      if (!(err instanceof ImagingError)) throw err;
      await this.store.images.recordDecodeError(row.blob_key, err.message);
      return undefined;
    }
  }

  /** A plain grey square in PNG, made once: shown for images whose pixels would not decode. */
  private placeholder(): Promise<Buffer> {
    const size = Math.min(this.limits.thumbSize, 64);
    this.placeholderPng ??= solidPng(size, size, '#9e9e9e');
    return this.placeholderPng;
  }
}
