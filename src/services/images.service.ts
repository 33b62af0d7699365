import type { Readable } from 'node:stream';
import {
  type BlobStat,
  type BlobStore,
  type ByteRange,
  type DirectUrlHeaders,
  originalKey,
} from '../blobs/blob-store.ts';
import type { DiskReserve } from '../blobs/disk-reserve.ts';
import type { ImageRef, ImageRow, ListedImageRow } from '../store/schema.ts';
import type { ImageChanges, ImagePage, MetadataStore, SearchCriteria, SearchPage } from '../store/types.ts';
import { badRequest, notFound } from './errors.ts';
import { imageOwner, type Principal } from './principal.ts';
import { parseSearchQuery, SearchQueryError } from './search-query.ts';
import type { ThumbnailService } from './thumbnails.service.ts';
import { checkedText } from './upload-fields.ts';

export const MAX_SEARCH_QUERY = 200;

/** Who may see an image and its metadata. */
export interface ImageSettings {
  accessPolicy?: 'anyone' | 'only_me';
  /** Whether the title and description show on the public permalink page (and in oEmbed). */
  metadataIsPublic?: boolean;
}

/**
 * What the owner may change after the upload; absent fields are left as they are, and an empty
 * string clears one (a title becomes null, as if never given).
 */
export interface ImageEdit extends ImageSettings {
  title?: string;
  desc?: string;
  altText?: string;
}

const ACCESS_POLICIES: ReadonlySet<string> = new Set(['anyone', 'only_me']);

/** Who may see an image's bytes and page: anyone, unless it is `only_me` (then its owner only). */
const mayView = (row: ImageRow, viewer: Principal | undefined) =>
  row.access_policy !== 'only_me' || row.user_id === viewer?.userId;

/** Reading, listing, searching and deleting images, with the rule of who may see what. */
export class ImagesService {
  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly thumbnails: ThumbnailService,
    private readonly thumbSize: number,
    /** Given up when the disk is full, so that a delete (the way to make room) can still commit. */
    private readonly reserve?: DiskReserve,
  ) {}

  list(user: Principal, page: number, perPage: number): Promise<ImagePage<ListedImageRow>> {
    return this.store.images.listByUser(imageOwner(user), (page - 1) * perPage, perPage);
  }

  /** The same page as list, as which images in which state (see ImageListing). */
  listRefs(user: Principal, page: number, perPage: number): Promise<ImageRef[]> {
    return this.store.images.listRefsByUser(imageOwner(user), (page - 1) * perPage, perPage);
  }

  /** The caller's own images with these seqs, in no order (see ImageListing). */
  listedBySeq(user: Principal, seqs: readonly number[]): Promise<ListedImageRow[]> {
    return this.store.images.listedBySeq(user.userId, seqs);
  }

  /** The owner's image; anyone else's is "not found", whatever its policy, as for the hosted API. */
  async getOwn(user: Principal, imageId: string): Promise<ImageRow> {
    const row = await this.store.images.findByImageId(imageId);
    if (!row || row.user_id !== user.userId) throw notFound('image not found');
    return row;
  }

  /**
   * Changes the caller's own image (anyone else's is "not found", as for getOwn). Text is checked
   * as an upload's is; the owner's images_version moves in the same transaction, so cached list
   * pages never show the old text, and the search index follows.
   */
  async edit(user: Principal, imageId: string, edit: ImageEdit): Promise<ImageRow> {
    const changes: ImageChanges = {};
    if (edit.title !== undefined) changes.title = checkedText('title', edit.title) || null;
    if (edit.desc !== undefined) changes.desc = checkedText('desc', edit.desc);
    if (edit.altText !== undefined) changes.alt_text = checkedText('alt_text', edit.altText);
    if (edit.accessPolicy !== undefined) {
      if (!ACCESS_POLICIES.has(edit.accessPolicy))
        throw badRequest(`access_policy must be "anyone" or "only_me", got "${edit.accessPolicy}"`);
      changes.access_policy = edit.accessPolicy;
    }
    if (edit.metadataIsPublic !== undefined) changes.metadata_is_public = edit.metadataIsPublic;
    if (Object.keys(changes).length === 0) {
      throw badRequest('Nothing to change: send title, desc, alt_text, access_policy or metadata_is_public');
    }
    const row = await this.store.images.update(imageId, user.userId, changes);
    if (!row) throw notFound('image not found');
    return row;
  }

  /** Who may see the caller's own image and its metadata (the image page's switches). */
  updateSettings(user: Principal, imageId: string, settings: ImageSettings): Promise<ImageRow> {
    const { accessPolicy, metadataIsPublic } = settings;
    return this.edit(user, imageId, { accessPolicy, metadataIsPublic });
  }

  async delete(user: Principal, imageId: string): Promise<ImageRow> {
    let row: ImageRow | undefined;
    try {
      row = await this.store.images.delete(imageId, user.userId);
    } catch (err) {
      // SQLite reports a full disk at commit, and the driver's rollback then hides the cause:
      // if there is a reserve to give up, do so and try once more.
      if (!(await this.reserve?.release())) throw err;
      row = await this.store.images.delete(imageId, user.userId);
    }
    if (!row) throw notFound('image not found');
    return row;
  }

  /** The query in Gyazo's search language (see search-query.ts); a malformed one is a 400. */
  search(user: Principal, query: string, page: number, perPage: number): Promise<SearchPage> {
    // Characters, as the route's schema counts them: an emoji is one, not two UTF-16 units.
    if ([...query].length > MAX_SEARCH_QUERY)
      throw badRequest(`query is longer than ${MAX_SEARCH_QUERY} characters`);
    let criteria: SearchCriteria;
    try {
      criteria = parseSearchQuery(query);
    } catch (err) {
      if (err instanceof SearchQueryError) throw badRequest(err.message);
      throw err;
    }
    return this.store.images.search(user.userId, criteria, (page - 1) * perPage, perPage);
  }

  /**
   * An image as a page, raw file or oEmbed may show it: `only_me` images exist for their owner
   * alone; to everyone else they are indistinguishable from a missing image.
   */
  async findViewable(imageId: string, viewer: Principal | undefined): Promise<ImageRow | undefined> {
    const row = await this.store.images.findByImageId(imageId);
    return row && mayView(row, viewer) ? row : undefined;
  }

  /**
   * An original anyone with its URL may see, when both its row and its bytes are in memory:
   * answered without a query or a read, or undefined (then ask findViewable and readOriginal).
   */
  peekPublicOriginal(imageId: string): { row: ImageRow; bytes: Buffer } | undefined {
    const row = this.store.images.peekByImageId(imageId);
    if (!row || !mayView(row, undefined)) return undefined;
    const bytes = this.blobs.peek?.(originalKey(row.blob_key));
    return bytes && { row, bytes };
  }

  readOriginal(row: ImageRow): Promise<Buffer | undefined> {
    return this.blobs.read(originalKey(row.blob_key));
  }

  /** The original's size as stored, without its bytes; undefined when they are gone. */
  statOriginal(row: ImageRow): Promise<BlobStat | undefined> {
    return this.blobs.stat(originalKey(row.blob_key));
  }

  /** The original, or a range of it, as a stream: for files too large to hold in memory. */
  streamOriginal(row: ImageRow, range?: ByteRange): Promise<Readable | undefined> {
    return this.blobs.stream(originalKey(row.blob_key), range);
  }

  /** A URL the client may fetch the original from directly (presigned S3), when so configured. */
  directOriginalUrl(row: ImageRow, headers: DirectUrlHeaders): Promise<string | undefined> {
    return this.blobs.directUrl(originalKey(row.blob_key), headers);
  }

  /** The thumbnail, made now if its job has not run yet; a placeholder for undecodable pixels. */
  readThumbnail(row: ImageRow, size: number): Promise<{ bytes: Buffer; placeholder: boolean } | undefined> {
    if (size !== this.thumbSize) return Promise.resolve(undefined);
    return this.thumbnails.get(row);
  }
}
