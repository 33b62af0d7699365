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

export class ListPageCache {
  private readonly entries = new Map<string, string>();
  private chars = 0;

  constructor(private readonly maxChars = LIST_PAGE_CACHE_CHARS) {}

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
