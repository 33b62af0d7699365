import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.ts';

/** Every STRIDE-th position of a user's newest-first order is remembered. */
const STRIDE = 100;
/** Users whose bookmarks are kept; the least recently used are dropped past this. */
const MAX_USERS = 1000;

export interface Bookmark {
  position: number;
  created_at: number;
  seq: number;
}

/**
 * The API pages by number, and OFFSET costs time in proportion to the depth. This keeps, per
 * user, the sort key of every STRIDE-th image, so that page N becomes a keyset seek plus an
 * OFFSET below STRIDE. The bookmarks belong to one `images_version` of the user, which every
 * insert and delete bumps in the same transaction, so a stale set is never used, even when
 * another process changed the images.
 */
export class PageBookmarks {
  private readonly cache = new Map<number, { version: number; marks: Bookmark[] }>();

  constructor(private readonly db: Kysely<Database>) {}

  async nearest(userId: number, version: number, offset: number): Promise<Bookmark | undefined> {
    if (offset < STRIDE) return undefined;
    let entry = this.cache.get(userId);
    if (!entry || entry.version !== version) {
      entry = { version, marks: await this.load(userId) };
      this.cache.set(userId, entry);
      if (this.cache.size > MAX_USERS) this.cache.delete(this.cache.keys().next().value as number);
    } else {
      // Refresh recency for LRU eviction.
      this.cache.delete(userId);
      this.cache.set(userId, entry);
    }
    return entry.marks[Math.floor(offset / STRIDE) - 1];
  }

  private async load(userId: number): Promise<Bookmark[]> {
    const { rows } = await sql<Bookmark>`
      SELECT position, created_at, seq FROM (
        SELECT created_at, seq, row_number() OVER (ORDER BY created_at DESC, seq DESC) - 1 AS position
        FROM images WHERE user_id = ${userId}
      ) AS ranked WHERE position > 0 AND position % ${STRIDE} = 0 ORDER BY position`.execute(this.db);
    return rows.map((r) => ({
      position: Number(r.position),
      created_at: Number(r.created_at),
      seq: Number(r.seq),
    }));
  }
}
