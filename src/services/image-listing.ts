import { LRUCache } from 'lru-cache';
import type { ImageRef, ListedImageRow } from '../store/schema.ts';
import type { ImagePage } from '../store/types.ts';
import type { Principal } from './principal.ts';
import type { ImageUrls } from './wire.ts';
import { jsonArrayOf, wireImageJson } from './wire-json.ts';

/** What ImageListing needs of ImagesService. */
export interface ListedImages {
  list(user: Principal, page: number, perPage: number): Promise<ImagePage<ListedImageRow>>;
  listRefs(user: Principal, page: number, perPage: number): Promise<ImageRef[]>;
  listedBySeq(user: Principal, seqs: readonly number[]): Promise<ListedImageRow[]>;
}

/**
 * A page of the image list as the API's JSON. Each image's JSON is kept by (seq, revision), so
 * that a page read before in any order (a client paging back and forth, a second client, pages
 * shifted by an upload) costs a query of those two columns and a join, not a read of every
 * column and a serialisation. An image not kept at the revision the page has, which any update
 * in any process makes (see nextRevision), or that is new to this process, is read by itself:
 * page 1 after an upload reads the one new row, a page with one image edited reads that one, and
 * a library larger than the cache is still answered partly from it. A page of which nothing is
 * kept is read as a page.
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
      const found = this.kept.lookup(refs);
      const missing = refs.filter((_, i) => found[i] === undefined);
      if (missing.length === 0) return jsonArrayOf(found as string[]);
      if (missing.length < refs.length) {
        const filled = await this.fill(user, refs, found);
        if (filled) return jsonArrayOf(filled);
      }
    }
    // The page as read now: its own rows, whatever changed since the refs were read.
    const { rows } = await this.images.list(user, page, perPage);
    return jsonArrayOf(rows.map((row) => this.serialise(row)));
  }

  /**
   * The page's JSON with the images not kept read by seq; undefined when one of them is gone
   * since the refs were read (deleted meanwhile): the page is then read again as a whole.
   */
  private async fill(
    user: Principal,
    refs: readonly ImageRef[],
    found: ReadonlyArray<string | undefined>,
  ): Promise<string[] | undefined> {
    const seqs = refs.filter((_, i) => found[i] === undefined).map((ref) => ref.seq);
    const rows = new Map((await this.images.listedBySeq(user, seqs)).map((row) => [row.seq, row]));
    const page: string[] = [];
    for (const [i, ref] of refs.entries()) {
      const kept = found[i];
      if (kept !== undefined) {
        page.push(kept);
        continue;
      }
      const row = rows.get(ref.seq);
      if (row === undefined) return undefined;
      // A revision newer than the ref's is an edit made since: the image as it is now.
      page.push(this.serialise(row));
    }
    return page;
  }

  private serialise(row: ListedImageRow): string {
    const one = wireImageJson(this.urls, row);
    this.kept.set(row.seq, row.revision, one);
    return one;
  }

  /** Bytes of JSON held now (an estimate: see ListedJsonCache). */
  get keptBytes(): number {
    return this.kept.bytes;
  }
}

/** Besides the string: the cache's slots, the entry object and the string's header. */
const ENTRY_OVERHEAD = 96;
// biome-ignore lint/suspicious/noControlCharactersInRegex: a test of what a one-byte string holds.
const BEYOND_LATIN1 = /[^\u0000-\u00ff]/;

interface Kept {
  revision: number;
  json: string;
}

/**
 * Least recently used first out, bounded by the bytes the strings take in the heap. (lru-cache,
 * not a Map in insertion order: a Map's deleted slots stay at its front until it is rehashed, and
 * every eviction's fresh iterator walks them; with tens of thousands of entries churning that was
 * 15–23 µs an image listed.)
 */
export class ListedJsonCache {
  private readonly entries: LRUCache<number, Kept> | undefined;

  constructor(readonly maxBytes: number) {
    this.entries =
      maxBytes > 0 ? new LRUCache<number, Kept>({ maxSize: maxBytes, sizeCalculation: sizeOf }) : undefined;
  }

  /** Each image's JSON where it is kept at the ref's revision (moved to the recent end), else undefined. */
  lookup(refs: readonly ImageRef[]): Array<string | undefined> {
    return refs.map((ref) => {
      const kept = this.entries?.get(ref.seq);
      return kept !== undefined && kept.revision === ref.revision ? kept.json : undefined;
    });
  }

  set(seq: number, revision: number, json: string): void {
    this.entries?.set(seq, { revision, json });
  }

  /** Bytes held now: an estimate of the heap the entries take. */
  get bytes(): number {
    return this.entries?.calculatedSize ?? 0;
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }
}

/** A string of only Latin-1 takes a byte a character in V8's heap, any other two. */
const sizeOf = ({ json }: Kept) =>
  ENTRY_OVERHEAD + (BEYOND_LATIN1.test(json) ? 2 * json.length : json.length);
