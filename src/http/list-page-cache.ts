import { LRUCache } from 'lru-cache';

/**
 * Serialised list pages, keyed by user, `images_version`, page and page size, as the UTF-8 bytes
 * sent. Clients poll the first page of their list over and over; answering from here costs the
 * token lookup (itself cached, and yielding the user's current version) instead of a page query
 * and a serialisation. (Bytes, not the JSON string: a string is encoded anew at every write, 5 %
 * of a cached page's CPU, and bytes sit outside the JavaScript heap the collector copies.)
 * A key with an old version is simply never asked for again, so the cache is right even when
 * another process changed the images: every change to a user's images bumps
 * `users.images_version` in the same transaction.
 */
/**
 * Bytes of JSON kept, across all users: about 900 pages of 20 images. Bounded by size, not
 * count, since a page of 100 is five times one of 20.
 */
export const LIST_PAGE_CACHE_BYTES = 8 * 1024 * 1024;
/**
 * Keys of pages read once and not kept, remembered so that a second ask keeps the page: about as
 * many as the cache holds pages of 20.
 */
export const LIST_PAGE_ADMISSION_KEYS = 1024;

export class ListPageCache {
  private readonly entries: LRUCache<string, Buffer>;
  private readonly askedOnce: LRUCache<string, true>;

  constructor(maxBytes = LIST_PAGE_CACHE_BYTES, admissionKeys = LIST_PAGE_ADMISSION_KEYS) {
    // lru-cache drops the oldest in constant time; a Map in insertion order walks the slots its
    // deletes left at the front on every eviction (see ListedJsonCache).
    this.entries = new LRUCache({ maxSize: maxBytes, sizeCalculation: (body) => Math.max(1, body.length) });
    this.askedOnce = new LRUCache({ max: admissionKeys });
  }

  static key(userId: number, version: number, page: number, perPage: number): string {
    return `${userId}:${version}:${page}:${perPage}`;
  }

  /** The kept page, now the most recently used. */
  get(key: string): Buffer | undefined {
    return this.entries.get(key);
  }

  /**
   * Whether a page just read for `key` is worth keeping: only when it was asked for already,
   * among the last `admissionKeys` pages read. A client walking through all its pages (an export,
   * a crawler) then neither pushes the pages others poll out of the cache nor makes every page it
   * reads live on: a kept page outlives the young generation, and copying and marking the
   * megabytes of them cost a cold page more CPU than reading and serialising it does.
   */
  admit(key: string): boolean {
    if (this.askedOnce.delete(key)) return true;
    this.askedOnce.set(key, true);
    return false;
  }

  /** Keeps the page, dropping the least recently used past the size; a page larger than it all is not kept. */
  set(key: string, body: Buffer): void {
    this.entries.set(key, body);
  }

  /** Bytes held now. */
  get size(): number {
    return this.entries.calculatedSize;
  }
}
