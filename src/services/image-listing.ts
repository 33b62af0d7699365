import type { ImageRef, ListedImageRow } from '../store/schema.ts';
import type { ImagePage } from '../store/types.ts';
import type { Principal } from './principal.ts';
import type { ImageUrls } from './wire.ts';
import { jsonArrayOf, wireImageJson } from './wire-json.ts';

/** What ImageListing needs of ImagesService. */
export interface ListedImages {
  list(user: Principal, page: number, perPage: number): Promise<ImagePage<ListedImageRow>>;
  listRefs(user: Principal, page: number, perPage: number): Promise<ImageRef[]>;
}

/**
 * A page of the image list as the API's JSON. Each image's JSON is kept by (seq, revision), so
 * that a page read before in any order (a client paging back and forth, a second client, pages
 * shifted by an upload) costs a query of those two columns and a join, not a read of every
 * column and a serialisation. A revision that differs from the one kept, which any update in any
 * process makes (see nextRevision), reads the page in full again; so does one image missing.
 */
export class ImageListing {
  private readonly kept: ListedJsonCache;

  constructor(
    private readonly images: ListedImages,
    private readonly urls: ImageUrls,
    maxBytes: number,
  ) {
    this.kept = new ListedJsonCache(maxBytes);
  }

  async pageJson(user: Principal, page: number, perPage: number): Promise<string> {
    if (this.kept.maxBytes > 0) {
      const refs = await this.images.listRefs(user, page, perPage);
      const json = this.kept.join(refs);
      if (json !== undefined) return json;
    }
    // The page as read now: its own rows, whatever changed since the refs were read.
    const { rows } = await this.images.list(user, page, perPage);
    return jsonArrayOf(
      rows.map((row) => {
        const one = wireImageJson(this.urls, row);
        this.kept.set(row.seq, row.revision, one);
        return one;
      }),
    );
  }

  /** Bytes of JSON held now (an estimate: see ListedJsonCache). */
  get keptBytes(): number {
    return this.kept.bytes;
  }
}

/** Besides the string: the Map's slot, the entry object and the string's header. */
const ENTRY_OVERHEAD = 96;
// biome-ignore lint/suspicious/noControlCharactersInRegex: a test of what a one-byte string holds.
const BEYOND_LATIN1 = /[^\u0000-\u00ff]/;

interface Kept {
  revision: number;
  json: string;
}

/** Least recently used first out, bounded by the bytes the strings take in the heap. */
export class ListedJsonCache {
  private readonly entries = new Map<number, Kept>();
  private held = 0;

  constructor(readonly maxBytes: number) {}

  /** The JSON array of these images, or undefined unless every one is kept at its revision. */
  join(refs: readonly ImageRef[]): string | undefined {
    const found: Kept[] = [];
    for (const ref of refs) {
      const kept = this.entries.get(ref.seq);
      if (kept === undefined || kept.revision !== ref.revision) return undefined;
      found.push(kept);
    }
    // Only a page wholly kept moves its images to the recent end.
    refs.forEach((ref, i) => {
      this.entries.delete(ref.seq);
      this.entries.set(ref.seq, found[i] as Kept);
    });
    return jsonArrayOf(found.map((kept) => kept.json));
  }

  set(seq: number, revision: number, json: string): void {
    if (this.maxBytes === 0) return;
    const old = this.entries.get(seq);
    if (old !== undefined) {
      this.entries.delete(seq);
      this.held -= sizeOf(old.json);
    }
    this.entries.set(seq, { revision, json });
    this.held += sizeOf(json);
    for (const [oldest, evicted] of this.entries) {
      if (this.held <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.held -= sizeOf(evicted.json);
    }
  }

  /** Bytes held now: an estimate of the heap the entries take. */
  get bytes(): number {
    return this.held;
  }

  get size(): number {
    return this.entries.size;
  }
}

/** A string of only Latin-1 takes a byte a character in V8's heap, any other two. */
const sizeOf = (json: string) => ENTRY_OVERHEAD + (BEYOND_LATIN1.test(json) ? 2 * json.length : json.length);
