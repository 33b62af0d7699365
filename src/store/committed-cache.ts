import type { ReadRunner } from './reusable-query.ts';

/**
 * Answers of a read query kept in process for as long as nothing has been committed since:
 * every lookup first asks the reader's change counter, which moves at once for this process's
 * commits and within a tenth of a second or two for other processes' (SQLite's data_version,
 * PostgreSQL's snapshot: see postgres/change-counter.ts); the first lookup after it moved
 * empties the cache. `maxAgeMs` bounds an entry's life on top of that, as a fallback.
 * A reader without a change counter caches nothing, nor does one while the counter cannot tell.
 */
export class CommittedCache<V> {
  private readonly entries = new Map<string, { value: V; at: number }>();
  private seen: number | undefined;

  constructor(
    private readonly reader: () => ReadRunner,
    private readonly maxAgeMs: number,
    private readonly maxEntries: number,
  ) {}

  /**
   * The kept answer for `key`, without a promise or a load; undefined when none is kept. For the
   * lookups every request makes: a hit through `get` costs a few promise turns more.
   */
  peek(key: string): V | undefined {
    if (this.counter() === undefined) return undefined;
    const hit = this.entries.get(key);
    return hit && Date.now() - hit.at < this.maxAgeMs ? hit.value : undefined;
  }

  async get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const counter = this.counter();
    if (counter === undefined) return load();
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.maxAgeMs) return hit.value;
    // Read after the counter: a commit in between empties the cache on the next lookup, so an
    // answer newer than the counter is never kept past it.
    const value = await load();
    if (value === undefined) {
      // Misses are not kept: strangers guessing could otherwise fill the cache.
      this.entries.delete(key);
      return undefined;
    }
    // A lookup that started after a later commit has emptied the cache meanwhile (the load is a
    // round trip on PostgreSQL): this answer may predate that commit, so it is not kept.
    if (this.seen !== counter) return value;
    this.entries.delete(key);
    this.entries.set(key, { value, at: now });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return value;
  }

  /** The reader's change counter, the cache emptied first when it moved; undefined when it cannot tell. */
  private counter(): number | undefined {
    const counter = this.reader().changeCounter?.();
    if (counter !== undefined && counter !== this.seen) {
      this.entries.clear();
      this.seen = counter;
    }
    return counter;
  }
}
