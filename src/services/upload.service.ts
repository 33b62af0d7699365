import { createHash, randomBytes } from 'node:crypto';
import { type BlobStore, originalKey, thumbnailKey } from '../blobs/blob-store.ts';
import { ImagingError, inspectImage, makeThumbnail } from '../imaging/imaging.ts';
import { BLOB_GC_JOB } from '../store/images.repository.ts';
import type { ImageRow, UserRow } from '../store/schema.ts';
import type { MetadataStore } from '../store/types.ts';
import { unprocessable } from './errors.ts';

export interface UploadInput {
  bytes: Buffer;
  /** Milliseconds; defaults to now. */
  createdAt?: number;
  app?: string;
  title?: string;
  /** The page the image came from (`referer_url`). */
  url?: string;
  desc?: string;
  metadataIsPublic?: boolean;
  accessPolicy?: 'anyone' | 'only_me';
  /** The GPS position read from the upload's EXIF before it was stripped. */
  location?: { latitude: number; longitude: number };
}

export interface UploadLimits {
  maxPixels: number;
  thumbSize: number;
}

/**
 * Turns bytes into a stored image. The order is what makes it crash-safe:
 * 1. validate the header (cheap, stores nothing);
 * 2. record the blob as pending (a committed row);
 * 3. decode fully while making the thumbnail (catches truncation), write both blobs durably;
 * 4. commit the image row and drop the pending entry in one transaction.
 * A crash after 2 leaves a pending entry that the start-up sweep turns into a collection job,
 * so neither a half-written row nor an orphan file survives.
 */
export class UploadService {
  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly limits: UploadLimits,
  ) {}

  async upload(user: UserRow, input: UploadInput): Promise<ImageRow> {
    const info = await this.inspect(input.bytes);
    const hash = createHash('sha256').update(input.bytes).digest('hex');
    const origKey = originalKey(hash);
    const thumbKey = thumbnailKey(hash, this.limits.thumbSize);

    const pendingId = await this.store.blobLedger.addPending(hash, Date.now());
    let wrote = false;
    try {
      // A thumbnail exists only for bytes that once decoded cleanly: identical bytes skip the work.
      const thumb = (await this.blobs.exists(thumbKey))
        ? undefined
        : await this.decodeThumbnail(input.bytes, info);
      if (!(await this.blobs.exists(origKey))) {
        wrote = true;
        await this.blobs.put(origKey, input.bytes);
      }
      if (thumb) {
        wrote = true;
        await this.blobs.put(thumbKey, thumb);
      }
      const now = Date.now();
      return await this.store.images.insert(
        {
          image_id: randomBytes(16).toString('hex'),
          user_id: user.id,
          blob_key: hash,
          type: info.type,
          byte_size: input.bytes.length,
          width: info.width,
          height: info.height,
          created_at: input.createdAt ?? now,
          uploaded_at: now,
          app: input.app ?? null,
          title: input.title ?? null,
          url: input.url ?? null,
          desc: input.desc ?? '',
          metadata_is_public: input.metadataIsPublic ? 1 : 0,
          access_policy: input.accessPolicy ?? 'anyone',
          ocr_locale: null,
          ocr_text: '',
          latitude: input.location?.latitude ?? null,
          longitude: input.location?.longitude ?? null,
        },
        pendingId,
      );
    } catch (err) {
      // Whatever this upload wrote may now be unused: queue its collection, then let go of it.
      // If this process dies first, the pending entry stays and the start-up sweep does the same.
      if (wrote) await this.store.jobs.enqueue({ kind: BLOB_GC_JOB, payload: { blobKey: hash } });
      await this.store.blobLedger.removePending(pendingId);
      throw err;
    }
  }

  private async inspect(bytes: Buffer) {
    try {
      return await inspectImage(bytes, this.limits.maxPixels);
    } catch (err) {
      throw err instanceof ImagingError ? unprocessable(err.message) : err;
    }
  }

  private async decodeThumbnail(bytes: Buffer, info: Awaited<ReturnType<typeof inspectImage>>) {
    try {
      return await makeThumbnail(bytes, info, this.limits.thumbSize, this.limits.maxPixels);
    } catch (err) {
      throw err instanceof ImagingError ? unprocessable(err.message) : err;
    }
  }
}
