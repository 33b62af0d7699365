import { type Kysely, sql } from 'kysely';
import { CommittedCache } from './committed-cache.ts';
import { dialectOf, inTransaction } from './dialect.ts';
import type { CommitDurably } from './durable-commit.ts';
import { bumpImagesVersion, nextRevision } from './images-version.ts';
import { jobRow } from './jobs.repository.ts';
import { PageBookmarks } from './page-bookmarks.ts';
import { type ReadRunner, reusableColumnsQuery, reusableQuery } from './reusable-query.ts';
import {
  type Database,
  IMAGE_REF_COLUMNS,
  type ImageRef,
  type ImageRow,
  type ImagesTable,
  imageRow,
  LISTED_IMAGE_COLUMNS,
  type ListedImageRow,
  type NewImageRow,
  type StoredImageRow,
  storedImageRow,
} from './schema.ts';
import { limitOf } from './sql-limit.ts';
import type {
  ImageChanges,
  ImageOwner,
  ImagePage,
  ImageRepository,
  NewJob,
  SearchCriteria,
  SearchPage,
} from './types.ts';

export const BLOB_GC_JOB = 'blob.collect';

export const THUMBNAIL_JOB = 'image.thumbnail';
/** Reading an image's text; payload `{imageId}` (one job per image, not per blob). */
export const OCR_JOB = 'ocr.read';

/** The upload's pending entry was taken by a sweep: its bytes may be collected, so no row is made. */
export class PendingUploadReclaimed extends Error {
  constructor() {
    super('the upload took too long: its pending blob was reclaimed as dead');
  }
}

/** Image rows kept in process (about half a kilobyte each), and for how long at most. */
const ROW_CACHE_ENTRIES = 5000;
const ROW_CACHE_MAX_AGE_MS = 1000;

/**
 * Inside a transaction: the image row, its follow-up jobs, and its owner's count and version
 * (every new image, uploaded or claimed, goes through here).
 */
export async function insertImage(
  trx: Kysely<Database>,
  row: NewImageRow,
  jobs: NewJob[],
): Promise<ImageRow> {
  const inserted = await trx
    .insertInto('images')
    .values(storedImageRow(row))
    .returningAll()
    .executeTakeFirstOrThrow();
  if (jobs.length > 0) await trx.insertInto('jobs').values(jobs.map(jobRow)).execute();
  await trx
    .updateTable('users')
    .set((eb) => ({
      image_count: eb('image_count', '+', 1),
      images_version: eb('images_version', '+', 1),
    }))
    .where('id', '=', row.user_id)
    .execute();
  return imageRow(inserted);
}

/** A page from the top of a user's list. */
type FirstPageArgs = [userId: number, limit: number, offset: number];
/** A page from a bookmark: its created_at once per placeholder, its seq, then how many and how far past it. */
type BookmarkPageArgs = [
  userId: number,
  at: number,
  atAgain: number,
  atOnceMore: number,
  seq: number,
  limit: number,
  offset: number,
];
interface PageQueries<R> {
  first(...args: FirstPageArgs): Promise<R[]>;
  from(...args: BookmarkPageArgs): Promise<R[]>;
}

export class KyselyImageRepository implements ImageRepository {
  private readonly bookmarks: PageBookmarks;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly reader: ReadRunner,
    /** An upload's commit (see durable-commit.ts). */
    private readonly commitDurably: CommitDurably,
  ) {
    this.bookmarks = new PageBookmarks(db);
  }

  async insert(row: NewImageRow, pendingId: number, jobs: NewJob[] = []): Promise<ImageRow> {
    return this.commitDurably(this.db, async (trx) => {
      // The pending entry is what kept collectors off the bytes; if a sweep took it for a dead
      // upload's, they may be gone, and the image must not be made.
      const pending = await trx.deleteFrom('pending_blobs').where('id', '=', pendingId).executeTakeFirst();
      if (Number(pending.numDeletedRows) !== 1) throw new PendingUploadReclaimed();
      return insertImage(trx, row, jobs);
    });
  }

  private readonly byImageId = reusableQuery<[string], StoredImageRow>(
    () => this.reader,
    (imageId: string) => this.db.selectFrom('images').selectAll().where('image_id', '=', imageId),
  );

  /**
   * Every raw file, thumbnail and page request looks its image up by id: the row is kept until
   * anything is committed (see CommittedCache), so that serving a hot image reads no SQLite.
   */
  private readonly rows = new CommittedCache<ImageRow>(
    () => this.reader,
    ROW_CACHE_MAX_AGE_MS,
    ROW_CACHE_ENTRIES,
  );

  peekByImageId(imageId: string): ImageRow | undefined {
    return this.rows.peek(imageId);
  }

  findByImageId(imageId: string): Promise<ImageRow | undefined> {
    return this.rows.get(imageId, async () => {
      const [row] = await this.byImageId(imageId);
      return row && imageRow(row);
    });
  }

  /** A page's rows, and (far cheaper: no column the wire object needs) only which images they are. */
  private readonly listed = this.pageQueries<ListedImageRow>(LISTED_IMAGE_COLUMNS);
  private readonly refs = this.pageQueries<ImageRef>(IMAGE_REF_COLUMNS);

  /** `columns` must be R's, as LISTED_IMAGE_COLUMNS are ListedImageRow's. */
  private pageQueries<R>(columns: readonly (keyof ImagesTable & string)[]): PageQueries<R> {
    const queries = {
      first: reusableColumnsQuery(
        () => this.reader,
        columns,
        (...[userId, limit, offset]: FirstPageArgs) =>
          this.db
            .selectFrom('images')
            .select(columns)
            .where('user_id', '=', userId)
            .orderBy('created_at', 'desc')
            .orderBy('seq', 'desc')
            .limit(limitOf(limit))
            .offset(offset),
      ),
      /** A page that starts at or after a bookmark (created_at, seq), newest first. */
      from: reusableColumnsQuery(
        () => this.reader,
        columns,
        (...[userId, at, atAgain, atOnceMore, seq, limit, offset]: BookmarkPageArgs) =>
          this.db
            .selectFrom('images')
            .select(columns)
            .where('user_id', '=', userId)
            // `created_at <= ?` on its own is what lets the index seek; the OR alone is only a
            // filter, and SQLite would walk (and test) every newer row, slower than the OFFSET it replaces.
            .where('created_at', '<=', at)
            .where((eb) =>
              eb.or([
                eb('created_at', '<', atAgain),
                eb.and([eb('created_at', '=', atOnceMore), eb('seq', '<=', seq)]),
              ]),
            )
            .orderBy('created_at', 'desc')
            .orderBy('seq', 'desc')
            .limit(limitOf(limit))
            .offset(offset),
      ),
    };
    return queries as unknown as PageQueries<R>;
  }

  private async pageOf<R>(
    queries: PageQueries<R>,
    owner: ImageOwner,
    offset: number,
    limit: number,
  ): Promise<R[]> {
    // OFFSET walks the index entry by entry; a bookmark lets a deep page start near its rows.
    const seek = await this.bookmarks.nearest(owner.id, owner.images_version, offset);
    return seek
      ? queries.from(
          owner.id,
          seek.created_at,
          seek.created_at,
          seek.created_at,
          seek.seq,
          limit,
          offset - seek.position,
        )
      : queries.first(owner.id, limit, offset);
  }

  async listByUser(owner: ImageOwner, offset: number, limit: number): Promise<ImagePage<ListedImageRow>> {
    const total = owner.image_count;
    if (offset >= total) return { rows: [], total };
    return { rows: await this.pageOf(this.listed, owner, offset, limit), total };
  }

  listRefsByUser(owner: ImageOwner, offset: number, limit: number): Promise<ImageRef[]> {
    if (offset >= owner.image_count) return Promise.resolve([]);
    return this.pageOf(this.refs, owner, offset, limit);
  }

  /** Seqs asked for at once: a fixed count, so that one prepared statement serves every call. */
  private static readonly SEQS_AT_ONCE = 20;
  private readonly listedBySeqs = reusableColumnsQuery(
    () => this.reader,
    LISTED_IMAGE_COLUMNS,
    (userId: number, ...seqs: number[]) =>
      this.db
        .selectFrom('images')
        .select(LISTED_IMAGE_COLUMNS)
        // `+user_id`: the owner is checked, but not through the user's index, which SQLite's
        // planner would otherwise walk row by row instead of probing 20 seqs (a test pins it).
        .where(sql<number>`+${sql.ref('user_id')}`, '=', userId)
        .where('seq', 'in', seqs),
  );

  async listedBySeq(userId: number, seqs: readonly number[]): Promise<ListedImageRow[]> {
    const rows: ListedImageRow[] = [];
    const n = KyselyImageRepository.SEQS_AT_ONCE;
    for (let i = 0; i < seqs.length; i += n) {
      const chunk = seqs.slice(i, i + n);
      // Padded with a seq no image has (seqs start at 1).
      while (chunk.length < n) chunk.push(0);
      rows.push(...(await this.listedBySeqs(userId, ...chunk)));
    }
    return rows;
  }

  search(userId: number, criteria: SearchCriteria, offset: number, limit: number): Promise<SearchPage> {
    return dialectOf(this.db).searchImages(this.db, userId, criteria, offset, limit);
  }

  async update(imageId: string, userId: number, changes: ImageChanges): Promise<ImageRow | undefined> {
    if (Object.keys(changes).length === 0) throw new Error('an image update needs something to change');
    const { metadata_is_public, ...rest } = changes;
    const stored =
      metadata_is_public === undefined ? rest : { ...rest, metadata_is_public: metadata_is_public ? 1 : 0 };
    return inTransaction(this.db, async (trx) => {
      const row = await trx
        .updateTable('images')
        .set((eb) => ({ ...stored, revision: nextRevision(eb) }))
        .where('image_id', '=', imageId)
        .where('user_id', '=', userId)
        .returningAll()
        .executeTakeFirst();
      if (!row) return undefined;
      // Every change shows in the listed objects, one to nothing searched (the policy) too.
      await bumpImagesVersion(trx, userId);
      return imageRow(row);
    });
  }

  async delete(imageId: string, userId: number): Promise<ImageRow | undefined> {
    return inTransaction(this.db, async (trx) => {
      const row = await trx
        .deleteFrom('images')
        .where('image_id', '=', imageId)
        .where('user_id', '=', userId)
        .returningAll()
        .executeTakeFirst();
      if (!row) return undefined;
      await trx
        .updateTable('users')
        .set((eb) => ({
          image_count: eb('image_count', '-', 1),
          images_version: eb('images_version', '+', 1),
        }))
        .where('id', '=', userId)
        .execute();
      // The image's own jobs (OCR) go with it, queued, running or failed: a running one's
      // complete or fail then matches no row.
      await trx.deleteFrom('jobs').where('image_id', '=', imageId).execute();
      const stillUsed = await trx
        .selectFrom('images')
        .select('seq')
        .where('blob_key', '=', row.blob_key)
        .limit(sql.lit(1))
        .executeTakeFirst();
      if (!stillUsed) {
        // So do the blob's (its thumbnail), but for collection, which is what comes next.
        await trx
          .deleteFrom('jobs')
          .where('blob_key', '=', row.blob_key)
          .where('kind', '!=', BLOB_GC_JOB)
          .execute();
        await trx
          .insertInto('jobs')
          .values(jobRow({ kind: BLOB_GC_JOB, payload: { blobKey: row.blob_key } }))
          .execute();
      }
      return imageRow(row);
    });
  }

  // Each thumbnail job starts here: built once, and read from the reader, like the lookups by id.
  private readonly byBlobKey = reusableQuery<[string], StoredImageRow>(
    () => this.reader,
    (blobKey: string) =>
      this.db.selectFrom('images').selectAll().where('blob_key', '=', blobKey).limit(sql.lit(1)),
  );

  async findByBlobKey(blobKey: string): Promise<ImageRow | undefined> {
    const [row] = await this.byBlobKey(blobKey);
    return row && imageRow(row);
  }

  async recordDecodeError(blobKey: string, reason: string): Promise<void> {
    await inTransaction(this.db, async (trx) => {
      const owners = await trx
        .updateTable('images')
        .set((eb) => ({ decode_error: reason, revision: nextRevision(eb) }))
        .where('blob_key', '=', blobKey)
        .returning('user_id')
        .execute();
      await bumpImagesVersion(trx, [...new Set(owners.map((o) => o.user_id))]);
    });
  }

  async recordOcr(
    imageId: string,
    locale: string | null,
    text: string,
    options: { replace?: boolean } = {},
  ): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      let update = trx
        .updateTable('images')
        .set((eb) => ({
          ocr_locale: text === '' ? null : locale,
          ocr_text: text,
          revision: nextRevision(eb),
        }))
        .where('image_id', '=', imageId);
      if (!options.replace) update = update.where('ocr_text', '=', '');
      const row = await update.returning('user_id').executeTakeFirst();
      if (!row) return false;
      await bumpImagesVersion(trx, row.user_id);
      return true;
    });
  }

  async countAll(): Promise<number> {
    const r = await this.db
      .selectFrom('images')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async allBlobKeys(): Promise<string[]> {
    const rows = await this.db.selectFrom('images').select('blob_key').distinct().execute();
    return rows.map((r) => r.blob_key);
  }
}
