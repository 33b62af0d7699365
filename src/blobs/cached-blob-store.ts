import { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import type { BlobStat, BlobStore, ByteRange, DirectUrlHeaders } from './blob-store.ts';

/**
 * Keeps recently read blobs in memory, up to a byte budget (least recently used dropped
 * first). Safe because a key's bytes never change; a delete drops the entry.
 */
export class CachedBlobStore implements BlobStore {
  private readonly entries: LRUCache<string, Buffer> | undefined;

  constructor(
    private readonly inner: BlobStore,
    budget: number,
    /** Larger blobs are never cached, so one huge image cannot flush everything else. */
    private readonly maxEntry = Math.max(1, Math.floor(budget / 16)),
  ) {
    // lru-cache, not a Map in insertion order: see ListedJsonCache.
    this.entries =
      budget > 0
        ? new LRUCache({ maxSize: budget, sizeCalculation: (data) => Math.max(1, data.length) })
        : undefined;
  }

  /** The blob when it is in memory (now the most recently used), without reading the store. */
  peek(key: string): Buffer | undefined {
    return this.entries?.get(key);
  }

  async read(key: string): Promise<Buffer | undefined> {
    const hit = this.peek(key);
    if (hit) return hit;
    const data = await this.inner.read(key);
    if (data && data.length <= this.maxEntry) this.entries?.set(key, data);
    return data;
  }

  /** From memory when the blob is there; otherwise the inner stream (which does not fill the cache). */
  stream(key: string, range?: ByteRange): Promise<Readable | undefined> {
    const hit = this.entries?.get(key);
    if (!hit) return this.inner.stream(key, range);
    return Promise.resolve(Readable.from([range ? hit.subarray(range.start, range.end + 1) : hit]));
  }

  put(key: string, data: Buffer): Promise<void> {
    return this.inner.put(key, data);
  }
  putFile(key: string, file: string, options?: { synced?: boolean }): Promise<void> {
    return this.inner.putFile(key, file, options);
  }
  get stagedFilesBecomeBlobs(): boolean {
    return this.inner.stagedFilesBecomeBlobs;
  }
  putStream(key: string, source: Readable): Promise<void> {
    return this.inner.putStream(key, source);
  }
  stat(key: string): Promise<BlobStat | undefined> {
    return this.inner.stat(key);
  }
  withLocalFile<T>(key: string, use: (file: string) => Promise<T>): Promise<T | undefined> {
    return this.inner.withLocalFile(key, use);
  }
  directUrl(key: string, headers: DirectUrlHeaders): Promise<string | undefined> {
    return this.inner.directUrl(key, headers);
  }
  stagingPath(): Promise<string> {
    return this.inner.stagingPath();
  }
  freeBytes(): Promise<number | undefined> {
    return this.inner.freeBytes();
  }
  exists(key: string): Promise<boolean> {
    return this.entries?.has(key) ? Promise.resolve(true) : this.inner.exists(key);
  }
  async delete(key: string): Promise<void> {
    this.entries?.delete(key);
    await this.inner.delete(key);
  }
  list(): AsyncIterable<string> {
    return this.inner.list();
  }
  sweepIncomplete(): Promise<void> {
    return this.inner.sweepIncomplete();
  }
}
