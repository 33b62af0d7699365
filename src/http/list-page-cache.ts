/**
 * Serialised list pages, keyed by user, `images_version`, page and page size. Clients poll the
 * first page of their list over and over; answering from here costs one indexed lookup (the
 * token, which also yields the user's current version) instead of a page query and a
 * serialisation. A key with an old version is simply never asked for again, so the cache is
 * right even when another process changed the images: every change to a user's images bumps
 * `users.images_version` in the same transaction.
 */
/** Pages kept, across all users: about 8 KB each at 20 per page. */
export const LIST_PAGE_CACHE_ENTRIES = 2000;

export class ListPageCache {
  private readonly entries = new Map<string, string>();

  constructor(private readonly maxEntries = LIST_PAGE_CACHE_ENTRIES) {}

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
    this.entries.set(key, body);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }
}
