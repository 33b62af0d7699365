/**
 * Serialised list pages, keyed by user, `images_version`, page and page size. Clients poll the
 * first page of their list over and over; answering from here costs the token lookup (itself
 * cached, and yielding the user's current version) instead of a page query and a serialisation.
 * A key with an old version is simply never asked for again, so the cache is right even when
 * another process changed the images: every change to a user's images bumps
 * `users.images_version` in the same transaction.
 */
/**
 * Characters of JSON kept, across all users: about 900 pages of 20 images. Bounded by size, not
 * count, since a page of 100 is five times one of 20.
 */
export const LIST_PAGE_CACHE_CHARS = 8 * 1024 * 1024;
/**
 * Keys of pages read once and not kept, remembered so that a second ask keeps the page: about as
 * many as the cache holds pages of 20.
 */
export const LIST_PAGE_ADMISSION_KEYS = 1024;

export class ListPageCache {
  private readonly entries = new Map<string, string>();
  private readonly askedOnce = new Set<string>();
  private chars = 0;

  constructor(
    private readonly maxChars = LIST_PAGE_CACHE_CHARS,
    private readonly admissionKeys = LIST_PAGE_ADMISSION_KEYS,
  ) {}

  static key(userId: number, version: number, page: number, perPage: number): string {
    return `${userId}:${version}:${page}:${perPage}`;
  }

  get(key: string): string | undefined {
    const body = this.entries.get(key);
    if (body !== undefined) {
      // Most recently used last, so eviction takes the oldest.
      this.entries.delete(key);
      this.entries.set(key, body);
    }
    return body;
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
    this.askedOnce.add(key);
    if (this.askedOnce.size > this.admissionKeys)
      this.askedOnce.delete(this.askedOnce.values().next().value as string);
    return false;
  }

  set(key: string, body: string): void {
    if (body.length > this.maxChars) return;
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.chars -= old.length;
    }
    this.entries.set(key, body);
    this.chars += body.length;
    for (const [oldest, evicted] of this.entries) {
      if (this.chars <= this.maxChars) break;
      this.entries.delete(oldest);
      this.chars -= evicted.length;
    }
  }

  /** Characters held now. */
  get size(): number {
    return this.chars;
  }
}
