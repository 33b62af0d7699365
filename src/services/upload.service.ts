import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { type BlobStore, originalKey } from '../blobs/blob-store.ts';
import type { DiskReserve } from '../blobs/disk-reserve.ts';
import {
  DiskFullError,
  discardFile,
  isDiskFull,
  type StagedFile,
  StagedTooLargeError,
  writeStagedFile,
} from '../blobs/staged-file.ts';
import { type ImageInfo, type ImageType, ImagingError, inspectImage } from '../imaging/imaging.ts';
import { type GeoLocation, readIdentifyingMetadata, stripIdentifyingMetadata } from '../imaging/metadata.ts';
import { checkStructure } from '../imaging/structure.ts';
import { BLOB_GC_JOB, OCR_JOB, THUMBNAIL_JOB } from '../store/images.repository.ts';
import type { ImageRow, NewImageRow } from '../store/schema.ts';
import type { MetadataStore, NewJob } from '../store/types.ts';
import { BlobCollector } from './blob-collector.ts';
import { insufficientStorage, tooLarge, unprocessable } from './errors.ts';
import { UploadActivity } from './upload-activity.ts';

/**
 * An upload checked, stripped and written: the image row it makes (less its owner), and the
 * pending ledger entry that the transaction recording it must drop.
 */
export interface StoredUpload {
  image: Omit<NewImageRow, 'user_id' | 'ocr_locale' | 'ocr_text'> & { image_id: string; blob_key: string };
  pendingId: number;
}

/** What an upload says about its image, besides the bytes. */
export interface UploadMeta {
  /** Milliseconds; defaults to now. */
  createdAt?: number;
  app?: string;
  title?: string;
  /** The page the image came from (`referer_url`). */
  url?: string;
  desc?: string;
  metadataIsPublic?: boolean;
  accessPolicy?: 'anyone' | 'only_me';
}

export interface UploadLimits {
  maxPixels: number;
  thumbSize: number;
  /** Largest image accepted, in bytes. */
  maxUploadBytes?: number;
  /** Uploads are refused (507) rather than leave less than this free: deletes need room too. */
  diskReserveBytes?: number;
  /** Store originals as uploaded, EXIF and all (`--keep-metadata`). */
  keepMetadata?: boolean;
  /** Queue every image for OCR as it is stored. */
  ocr?: boolean;
}

const DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024;
const OUT_OF_SPACE = 'The server is out of storage space: the image was not stored';

/**
 * Turns bytes into a stored image, answering in milliseconds. The order is what makes it
 * crash-safe:
 * 1. the bytes are staged on disk (hashed while they arrive); the header (type, size, pixel
 *    limit) and the file's structure (complete to its end marker) are checked: no decoding;
 * 2. the blob is recorded as pending (a committed row);
 * 3. the original is written durably;
 * 4. the image row is committed, the pending entry dropped and the thumbnail job queued, in
 *    one transaction. The full decode happens in that job (ThumbnailService).
 * A crash after 2 leaves a pending entry that the start-up sweep collects, so neither a
 * half-written row nor an orphan file survives. A failure after 2 collects at once.
 *
 * The work is the same whether or not someone already stored these bytes (the original is
 * replaced by a rename either way), so an upload's timing does not tell that they exist.
 */
export class UploadService {
  private readonly collector: BlobCollector;
  /** Uploads in progress (see UploadActivity); the upload routes mark theirs. */
  readonly activity = new UploadActivity();

  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly limits: UploadLimits,
    private readonly reserve?: DiskReserve,
    /** Called once an upload's background work is queued, with its kinds (the job worker's nudge). */
    private readonly onQueued?: (kinds?: readonly string[]) => void,
  ) {
    this.collector = new BlobCollector(store, blobs, limits.thumbSize);
  }

  private get maxUploadBytes() {
    return this.limits.maxUploadBytes ?? DEFAULT_MAX_UPLOAD;
  }

  /** Refuses an upload of `bytes` more when the disk would be left without its reserve. */
  async assertRoomFor(bytes: number): Promise<void> {
    const free = await this.blobs.freeBytes();
    if (free !== undefined && free - bytes < (this.limits.diskReserveBytes ?? 0)) {
      throw insufficientStorage(OUT_OF_SPACE);
    }
    // Room again after a full disk: take back the database's reserve first.
    await this.reserve?.ensure();
  }

  /** Streams `source` to a staged file, refusing more than `maxBytes` (413) and a full disk (507). */
  async stage(source: Readable, maxBytes = this.maxUploadBytes): Promise<StagedFile> {
    try {
      return await writeStagedFile(source, await this.blobs.stagingPath(), maxBytes, {
        keepCopy: true,
        sync: this.blobs.stagedFilesBecomeBlobs,
      });
    } catch (err) {
      if (err instanceof StagedTooLargeError)
        throw tooLarge(`imagedata is too large: the limit is ${maxBytes} bytes`);
      if (isDiskFull(err) || err instanceof DiskFullError) throw insufficientStorage(OUT_OF_SPACE);
      throw err;
    }
  }

  /** Stores an image from a staged file (which it takes over) or from bytes in memory. */
  upload(ownerId: number, source: StagedFile | Buffer, meta: UploadMeta = {}): Promise<ImageRow> {
    return this.keep(source, meta, async ({ image, pendingId }) => {
      const jobs = this.followUpJobs(image.image_id, image.blob_key);
      const row = await this.store.images.insert(
        { ...image, user_id: ownerId, ocr_locale: null, ocr_text: '' },
        pendingId,
        jobs,
      );
      this.onQueued?.(jobs.map((job) => job.kind));
      return row;
    });
  }

  /**
   * Stores an image that belongs to nobody yet (easy_auth): the same checks and stripping as
   * `upload`, the bytes written durably, and then `commit` records it (in one transaction that
   * also drops `pendingId`) instead of an image row. A failure of `commit` collects the bytes.
   */
  hold<T>(
    source: StagedFile | Buffer,
    meta: UploadMeta,
    commit: (stored: StoredUpload) => Promise<T>,
  ): Promise<T> {
    return this.keep(source, meta, async (stored) => {
      const held = await commit(stored);
      this.onQueued?.();
      return held;
    });
  }

  /** The background work every new image gets: its thumbnail, and its text read. */
  followUpJobs(imageId: string, blobKey: string): NewJob[] {
    return [
      { kind: THUMBNAIL_JOB, payload: { blobKey } },
      ...(this.limits.ocr ? [{ kind: OCR_JOB, payload: { imageId } }] : []),
    ];
  }

  private async keep<T>(
    source: StagedFile | Buffer,
    meta: UploadMeta,
    commit: (stored: StoredUpload) => Promise<T>,
  ): Promise<T> {
    const file = Buffer.isBuffer(source) ? await this.stage(Readable.from([source])) : source;
    try {
      return await this.storeImage(file, meta, commit);
    } finally {
      await file.discard();
    }
  }

  private async storeImage<T>(
    upload: StagedFile,
    meta: UploadMeta,
    commit: (stored: StoredUpload) => Promise<T>,
  ): Promise<T> {
    const info = await this.imaging(async () => {
      // A small upload is checked in memory, as it arrived (see KEEP_IN_MEMORY_BYTES).
      const input = upload.bytes ?? upload.path;
      const header = await inspectImage(input, this.limits.maxPixels);
      await checkStructure(input, header.type);
      return header;
    });
    const { file, location } = await this.withoutIdentifyingMetadata(upload, info.type);
    try {
      return await this.commit(file, info, meta, location, commit);
    } finally {
      if (file !== upload) await file.discard();
    }
  }

  /**
   * The bytes to store: the upload less its GPS, serials and names (see imaging/metadata.ts),
   * pixels untouched, unless the server keeps metadata. The location is kept for the owner.
   */
  private async withoutIdentifyingMetadata(
    upload: StagedFile,
    type: ImageType,
  ): Promise<{ file: StagedFile; location?: GeoLocation }> {
    if (this.limits.keepMetadata) {
      const { location } = await this.imaging(() =>
        readIdentifyingMetadata(upload.bytes ?? upload.path, type),
      );
      return { file: upload, location };
    }
    const cleanPath = await this.blobs.stagingPath();
    try {
      // The stripper reads `bytes`, and the file only when it has something to strip.
      const clean = await this.imaging(() =>
        stripIdentifyingMetadata(upload.path, cleanPath, type, upload.bytes, () => upload.written()),
      );
      if (!clean.changed || !clean.sha256 || clean.size === undefined) {
        // Nothing was stripped, so nothing was written there.
        if (clean.changed) await discardFile(cleanPath);
        return { file: upload, location: clean.location };
      }
      const file: StagedFile = {
        path: cleanPath,
        size: clean.size,
        sha256: clean.sha256,
        written: () => Promise.resolve(),
        synced: false,
        discard: () => discardFile(cleanPath),
      };
      return { file, location: clean.location };
    } catch (err) {
      await discardFile(cleanPath);
      throw isDiskFull(err) ? insufficientStorage(OUT_OF_SPACE) : err;
    }
  }

  private async commit<T>(
    file: StagedFile,
    info: ImageInfo,
    meta: UploadMeta,
    location: GeoLocation | undefined,
    record: (stored: StoredUpload) => Promise<T>,
  ): Promise<T> {
    const hash = file.sha256;
    const pendingId = await this.store.blobLedger.addPending(hash, Date.now());
    let wrote = false;
    try {
      wrote = true;
      // Usually written and fsynced by now, while the checks ran (see writeStagedFile).
      await file.written();
      await this.blobs.putFile(originalKey(hash), file.path, { synced: file.synced });
      const now = Date.now();
      const image: StoredUpload['image'] = {
        image_id: randomBytes(16).toString('hex'),
        blob_key: hash,
        type: info.type,
        byte_size: file.size,
        width: info.width,
        height: info.height,
        created_at: meta.createdAt ?? now,
        uploaded_at: now,
        app: meta.app ?? null,
        title: meta.title ?? null,
        url: meta.url ?? null,
        desc: meta.desc ?? '',
        metadata_is_public: meta.metadataIsPublic === true,
        access_policy: meta.accessPolicy ?? 'anyone',
        latitude: location?.latitude ?? null,
        longitude: location?.longitude ?? null,
      };
      return await record({ image, pendingId });
    } catch (err) {
      await this.abandon(pendingId, hash, wrote);
      throw isDiskFull(err) ? insufficientStorage(OUT_OF_SPACE) : err;
    }
  }

  /**
   * Lets go of a failed upload's blob, removing at once whatever it wrote that nothing else
   * uses. Should that fail too (a full disk can fail a write), the pending entry stays and
   * the start-up sweep collects it.
   */
  private async abandon(pendingId: number, hash: string, wrote: boolean): Promise<void> {
    try {
      await this.store.blobLedger.removePending(pendingId);
      if (wrote) await this.collector.collect(hash);
    } catch {
      if (wrote)
        await this.store.jobs
          .enqueue({ kind: BLOB_GC_JOB, payload: { blobKey: hash } })
          .catch(() => undefined);
    }
  }

  private async imaging<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw err instanceof ImagingError ? unprocessable(err.message) : err;
    }
  }
}
