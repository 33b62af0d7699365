import { setTimeout as sleep } from 'node:timers/promises';
import { type BlobStore, originalKey, thumbnailKey } from '../blobs/blob-store.ts';
import { DecodeBudget } from '../imaging/decode-budget.ts';
import {
  decodePixels,
  type ImageInfo,
  type ImageType,
  ImagingError,
  makeThumbnail,
  solidPng,
  thumbnailFromPixels,
} from '../imaging/imaging.ts';
import type { PreparedPixels } from '../ocr/prepared-pixels.ts';
import type { ImageRow } from '../store/schema.ts';
import type { MetadataStore } from '../store/types.ts';
import type { UploadActivity } from './upload-activity.ts';

const DECODE_SLOT_POLL_MS = 25;

export interface ThumbnailLimits {
  thumbSize: number;
  maxPixels: number;
}

/**
 * Thumbnails are made after the upload has answered: by the `image.thumbnail` job, or on
 * demand when one is asked for first. This is the image's one full decode, under the decode
 * budget; with OCR on, the OCR input is prepared from the same pixels and kept for the OCR job.
 * However many ask at once, each blob is decoded once. Pixels that turn out not to decode are
 * recorded on the image (fsck reports them) and get a placeholder, never a retry loop.
 */
export class ThumbnailService {
  private readonly inFlight = new Map<string, Promise<Buffer | undefined>>();
  /** Jobs decoding now (requests for a thumbnail are not counted: they never wait). */
  private jobDecodes = 0;
  private readonly slotWaiters: Array<() => void> = [];
  private placeholderPng: Promise<Buffer> | undefined;

  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly budget: DecodeBudget,
    private readonly limits: ThumbnailLimits,
    /** Where decodes leave the OCR input; none when OCR is off. */
    private readonly ocrInputs?: PreparedPixels,
    /** Uploads in progress, which a job's decode gives way to (a request for a thumbnail does not). */
    private readonly uploads?: UploadActivity,
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
  async runJob(payload: { blobKey: string }, queuedAt = Date.now()): Promise<void> {
    if (await this.hasThumbnail(payload.blobKey)) return;
    await this.uploads?.quietOrOld(queuedAt);
    const row = await this.store.images.findByBlobKey(payload.blobKey);
    if (row && !row.decode_error) await this.make(row, { asJob: true });
  }

  /**
   * A job's turn to decode: a second decode beside the first only while no upload runs, so that
   * uploads keep a core of a two-core machine to themselves, and a backlog drains on both once
   * they stop. Held for the decode and encode only, not while the thumbnail is written (fsync):
   * a slot waiting on the disk would leave a core idle.
   */
  private async takeJobDecodeSlot(): Promise<void> {
    // Polled only while uploads hold the second slot back; a slot given back wakes a waiter at once.
    while (this.jobDecodes >= (this.uploads?.busy() ? 1 : 2)) {
      await Promise.race([new Promise<void>((r) => this.slotWaiters.push(r)), sleep(DECODE_SLOT_POLL_MS)]);
    }
    this.jobDecodes++;
  }

  private giveBackJobDecodeSlot(): void {
    this.jobDecodes--;
    for (const wake of this.slotWaiters.splice(0)) wake();
  }

  /**
   * The image's pixels prepared for OCR (see preparePixels): from the thumbnail's decode when it ran in this process
   * (or runs now, when the thumbnail is not made yet); decoded afresh only when that decode is
   * no longer at hand. Undefined when the pixels do not decode (recorded) or the original is gone.
   */
  async ocrInput(row: ImageRow): Promise<Buffer | undefined> {
    const inputs = this.ocrInputs;
    if (!inputs || row.decode_error) return undefined;
    const kept = inputs.take(row.blob_key);
    if (kept) return kept;
    const pending = this.inFlight.get(row.blob_key);
    if (pending || !(await this.hasThumbnail(row.blob_key))) {
      const thumb = await (pending ?? this.make(row));
      if (!thumb) return undefined;
      const made = inputs.take(row.blob_key);
      if (made) return made;
    }
    return this.decodeOriginal(row, async (file) =>
      inputs.from(await decodePixels(file, this.limits.maxPixels, inputs.maxPixels)),
    );
  }

  private hasThumbnail(blobKey: string): Promise<boolean> {
    return this.blobs.exists(thumbnailKey(blobKey, this.limits.thumbSize));
  }

  /** The thumbnail, decoded once however many ask; a job (`asJob`) waits for a job decode slot first. */
  private make(row: ImageRow, { asJob = false } = {}): Promise<Buffer | undefined> {
    let pending = this.inFlight.get(row.blob_key);
    if (!pending) {
      pending = this.decode(row, asJob).finally(() => this.inFlight.delete(row.blob_key));
      this.inFlight.set(row.blob_key, pending);
    }
    return pending;
  }

  private async decode(row: ImageRow, asJob: boolean): Promise<Buffer | undefined> {
    if (asJob) await this.takeJobDecodeSlot();
    let thumb: Buffer | undefined;
    try {
      const inputs = this.ocrInputs;
      thumb = await this.decodeOriginal(row, async (file) => {
        // Without OCR nothing else needs the pixels: one pipeline, decode to thumbnail, streams
        // through libvips without holding the decoded image (a quarter less CPU than two steps).
        if (!inputs) return makeThumbnail(file, infoOf(row), this.limits.thumbSize, this.limits.maxPixels);
        const pixels = await decodePixels(file, this.limits.maxPixels, inputs.maxPixels);
        const made = await thumbnailFromPixels(pixels, row.type as ImageType, this.limits.thumbSize);
        await inputs.keep(row.blob_key, pixels);
        return made;
      });
    } finally {
      if (asJob) this.giveBackJobDecodeSlot();
    }
    if (thumb) await this.blobs.put(thumbnailKey(row.blob_key, this.limits.thumbSize), thumb);
    return thumb;
  }

  /**
   * Runs `use` on the original as a local file under the decode budget; records the image as
   * undecodable (undefined) when its pixels do not decode.
   */
  private async decodeOriginal<T>(row: ImageRow, use: (file: string) => Promise<T>): Promise<T | undefined> {
    try {
      // Under the budget first: with S3, the local copy is made only once the decode may start.
      return await this.budget.run(DecodeBudget.costOf(row.width, row.height), () =>
        this.blobs.withLocalFile(originalKey(row.blob_key), use),
      );
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

const infoOf = (row: ImageRow): ImageInfo => ({
  type: row.type as ImageType,
  width: row.width,
  height: row.height,
});
