import Type from 'typebox';
import type { BlobCollector } from '../services/blob-collector.ts';
import type { EasyAuthService } from '../services/easy-auth.service.ts';
import type { OcrService } from '../services/ocr.service.ts';
import type { ThumbnailService } from '../services/thumbnails.service.ts';
import { HOLD_EXPIRE_JOB } from '../store/held-images.repository.ts';
import { BLOB_GC_JOB, OCR_JOB, THUMBNAIL_JOB } from '../store/images.repository.ts';
import { defineJob } from './registry.ts';

/** Payloads by kind. A job's `imageId` or `blobKey` also says what deleting an image cancels. */
export const BlobPayload = Type.Object({ blobKey: Type.String({ minLength: 1 }) });

/**
 * Removing an unused blob's files: quick, and it holds the database's write lock meanwhile, so
 * one at a time. It has its own slot, so a backlog of thumbnails or OCR never delays it.
 */
export const blobCollectJob = (collector: BlobCollector) =>
  defineJob({
    kind: BLOB_GC_JOB,
    payload: BlobPayload,
    concurrency: 1,
    timeoutMs: 60_000,
    run: async ({ blobKey }) => {
      await collector.collect(blobKey);
    },
  });

/**
 * Making a thumbnail: one full decode, bounded by the decode budget as well. Two decodes at a
 * time, the second only while no upload runs (ThumbnailService.takeJobDecodeSlot), so that uploads
 * keep a core of a two-core machine to themselves: with two decodes beside them the upload answer
 * time doubled (1-client p50 13.2 -> 7.5 ms with one). Four jobs, so that while one writes its
 * thumbnail and records its end, another's decode already runs (a backlog drained at 81-87/s
 * with two jobs, 91-94/s with four, on 1.4 and 1.6 cores).
 */
export const thumbnailJob = (thumbnails: ThumbnailService) =>
  defineJob({
    kind: THUMBNAIL_JOB,
    payload: BlobPayload,
    concurrency: 4,
    timeoutMs: 120_000,
    run: (payload, { queuedAt }) => thumbnails.runJob(payload, queuedAt),
  });

/** `rerun` reads again an image whose text is already set (by an earlier read or an import). */
export const OcrPayload = Type.Object({
  imageId: Type.String({ minLength: 1 }),
  rerun: Type.Optional(Type.Boolean()),
});

/**
 * Reading an image's text: as many at once as there are OCR workers, so that a job waiting for
 * a worker never holds a slot; a little longer than the engine's own per-read timeout.
 */
export const ocrJob = (reader: OcrService, workers: number, readTimeoutMs: number) =>
  defineJob({
    kind: OCR_JOB,
    payload: OcrPayload,
    concurrency: workers,
    timeoutMs: readTimeoutMs + 30_000,
    run: (payload, { queuedAt }) => reader.runJob(payload, queuedAt),
  });

/** A held image (easy_auth) whose time is up: its row, then its bytes; a no-op once claimed. */
export const heldImageExpiryJob = (easyAuth: EasyAuthService) =>
  defineJob({
    kind: HOLD_EXPIRE_JOB,
    payload: Type.Object({ heldId: Type.Integer({ minimum: 1 }) }),
    concurrency: 1,
    timeoutMs: 60_000,
    run: ({ heldId }) => easyAuth.expire(heldId),
  });
