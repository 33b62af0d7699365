import type { OcrEngine } from '../ocr/engine.ts';
import { engineInput } from '../ocr/prepare.ts';
import type { MetadataStore } from '../store/types.ts';
import type { ThumbnailService } from './thumbnails.service.ts';
import type { UploadActivity } from './upload-activity.ts';

/**
 * The `ocr.read` job: reads the text of one image from the pixels its thumbnail decode
 * prepared and stores it. An image gone, or whose pixels do not decode (recorded on the image
 * by the decode), is done with: it keeps `{locale: null, description: ""}` and is not retried.
 * An engine failure or timeout throws, so the job is retried with backoff and, past the bound,
 * recorded as failed with its reason. Text an image already has (from `gazo import`) is kept,
 * unless the job is a rerun (`{imageId, rerun: true}`).
 */
export class OcrService {
  constructor(
    private readonly store: MetadataStore,
    private readonly thumbnails: ThumbnailService,
    private readonly engine: OcrEngine,
    /** Uploads in progress, which a read gives way to for a moment (see UploadActivity). */
    private readonly uploads?: UploadActivity,
  ) {}

  async runJob(payload: { imageId: string; rerun?: boolean }, queuedAt = Date.now()): Promise<void> {
    const row = await this.store.images.findByImageId(payload.imageId);
    if (!row || row.decode_error || (row.ocr_text !== '' && !payload.rerun)) return;
    await this.uploads?.quietOrOld(queuedAt);
    const kept = await this.thumbnails.ocrInput(row);
    if (!kept) return;
    const { text, locale } = await this.engine.read(await engineInput(kept));
    await this.store.images.recordOcr(row.image_id, locale, text, { replace: payload.rerun === true });
  }
}
