import { type BlobStore, originalKey, thumbnailKey } from '../blobs/blob-store.ts';
import type { MetadataStore } from '../store/types.ts';

/**
 * Removes the bytes that no image uses any more, and repairs what a crash left: the blob side
 * of "no orphan file". Runs as the `blob.collect` job and at start-up.
 */
export class BlobCollector {
  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly thumbSize: number,
  ) {}

  /** True when the blob was unused and is gone. */
  collect(blobKey: string, options?: { deadBefore?: number }): Promise<boolean> {
    return this.store.blobLedger.collectIfUnused(
      blobKey,
      async () => {
        await this.blobs.delete(thumbnailKey(blobKey, this.thumbSize));
        await this.blobs.delete(originalKey(blobKey));
      },
      options,
    );
  }

  /**
   * After a crash: uploads that registered a blob before `before` and never committed are dead,
   * and so are collections started before it or past their lease; their blobs are collected
   * (each pending row dropped in the transaction that decides, so a sweep that dies or fails
   * part-way leaves the rest to the next), and half-written temporary files removed.
   */
  async sweepAfterCrash(before: number): Promise<{ collected: number }> {
    await this.blobs.sweepIncomplete();
    let collected = 0;
    for (const key of await this.store.blobLedger.keysToSweep(before)) {
      if (await this.collect(key, { deadBefore: before })) collected++;
    }
    return { collected };
  }
}
