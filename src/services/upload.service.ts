import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { type BlobStore, originalKey, thumbnailKey } from '../blobs/blob-store.ts';
import type { DiskReserve } from '../blobs/disk-reserve.ts';
import {
  DiskFullError,
  isDiskFull,
  type StagedFile,
  StagedTooLargeError,
  writeStagedFile,
} from '../blobs/staged-file.ts';
import { DecodeBudget } from '../imaging/decode-budget.ts';
import { ImagingError, inspectImage, makeThumbnail } from '../imaging/imaging.ts';
import { BLOB_GC_JOB } from '../store/images.repository.ts';
import type { ImageRow, UserRow } from '../store/schema.ts';
import type { MetadataStore } from '../store/types.ts';
import { BlobCollector } from './blob-collector.ts';
import { insufficientStorage, tooLarge, unprocessable } from './errors.ts';

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
  /** Memory that concurrent decodes may take together (see DecodeBudget). */
  decodeMemoryBytes?: number;
}

const DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024;
const DEFAULT_DECODE_MEMORY = 512 * 1024 * 1024;
const OUT_OF_SPACE = 'The server is out of storage space: the image was not stored';

/**
 * Turns bytes into a stored image. The order is what makes it crash-safe:
 * 1. the bytes are staged on disk (hashed while they arrive) and the header validated;
 * 2. the blob is recorded as pending (a committed row);
 * 3. the image is decoded fully while making the thumbnail (catches truncation), under the
 *    decode budget; both blobs are written durably;
 * 4. the image row is committed and the pending entry dropped in one transaction.
 * A crash after 2 leaves a pending entry that the start-up sweep collects, so neither a
 * half-written row nor an orphan file survives. A failure after 2 collects at once.
 *
 * The work is the same whether or not someone already stored these bytes (decode, write,
 * replace), so an upload's timing does not tell that the bytes exist on the server.
 */
export class UploadService {
  private readonly collector: BlobCollector;
  readonly decodeBudget: DecodeBudget;

  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly limits: UploadLimits,
    private readonly reserve?: DiskReserve,
  ) {
    this.collector = new BlobCollector(store, blobs, limits.thumbSize);
    this.decodeBudget = new DecodeBudget(limits.decodeMemoryBytes ?? DEFAULT_DECODE_MEMORY);
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
      return await writeStagedFile(source, await this.blobs.stagingPath(), maxBytes);
    } catch (err) {
      if (err instanceof StagedTooLargeError)
        throw tooLarge(`imagedata is too large: the limit is ${maxBytes} bytes`);
      if (isDiskFull(err) || err instanceof DiskFullError) throw insufficientStorage(OUT_OF_SPACE);
      throw err;
    }
  }

  /** Stores an image from a staged file (which it takes over) or from bytes in memory. */
  async upload(user: UserRow, source: StagedFile | Buffer, meta: UploadMeta = {}): Promise<ImageRow> {
    const file = Buffer.isBuffer(source) ? await this.stage(Readable.from([source])) : source;
    try {
      return await this.storeImage(user, file, meta);
    } finally {
      await file.discard();
    }
  }

  private async storeImage(user: UserRow, file: StagedFile, meta: UploadMeta): Promise<ImageRow> {
    const info = await this.imaging(() => inspectImage(file.path, this.limits.maxPixels));
    const hash = file.sha256;
    const pendingId = await this.store.blobLedger.addPending(hash, Date.now());
    let wrote = false;
    try {
      const thumb = await this.decodeBudget.run(DecodeBudget.costOf(info.width, info.height), () =>
        this.imaging(() => makeThumbnail(file.path, info, this.limits.thumbSize, this.limits.maxPixels)),
      );
      wrote = true;
      await this.blobs.put(thumbnailKey(hash, this.limits.thumbSize), thumb);
      await this.blobs.putFile(originalKey(hash), file.path);
      const now = Date.now();
      return await this.store.images.insert(
        {
          image_id: randomBytes(16).toString('hex'),
          user_id: user.id,
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
          metadata_is_public: meta.metadataIsPublic ? 1 : 0,
          access_policy: meta.accessPolicy ?? 'anyone',
          ocr_locale: null,
          ocr_text: '',
        },
        pendingId,
      );
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
