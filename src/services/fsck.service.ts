import { createHash } from 'node:crypto';
import { type BlobStore, originalKey, thumbnailKey } from '../blobs/blob-store.ts';
import { decodesCleanly, inspectImage, makeThumbnail } from '../imaging/imaging.ts';
import type { ImageFileRow, MetadataStore } from '../store/types.ts';
import type { BlobCollector } from './blob-collector.ts';
import { describeKey } from './blob-keys.ts';

export type ProblemKind =
  | 'missing original'
  | 'corrupt original'
  | 'unreadable original'
  | 'missing thumbnail'
  | 'corrupt thumbnail'
  | 'undecodable image'
  | 'unreferenced file'
  | 'unexpected file'
  | 'cannot list files';

export interface Problem {
  kind: ProblemKind;
  /** The image whose file this is; none for a file no image refers to. */
  imageId?: string;
  key: string;
  detail?: string;
  /** What --repair did about it (`re-made`, `removed`); undefined when it was left as it was. */
  repaired?: string;
}

export interface FsckSummary {
  images: number;
  files: number;
  problems: number;
  repaired: number;
}

/** Rows read per query: bounded memory, and short read transactions beside a running server. */
const PAGE = 500;

/**
 * The file side of `gazo fsck`: every image row's original exists with the row's size and the
 * SHA-256 its key names, its thumbnail exists and decodes, and no blob file is unreferenced.
 * With `repair`, thumbnails are made again from sound originals and unreferenced files removed;
 * no row is ever deleted. Safe beside a running server: files are listed before rows are read,
 * so an upload in flight is pending (or committed) by the time its file is judged, and removals
 * go through the collector, which re-checks under the write lock.
 */
export class DataDirCheck {
  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
    private readonly collector: BlobCollector,
    private readonly limits: { thumbSize: number; maxPixels: number },
  ) {}

  async run(options: { repair: boolean }, report: (problem: Problem) => void): Promise<FsckSummary> {
    const summary: FsckSummary = { images: 0, files: 0, problems: 0, repaired: 0 };
    const found = (problem: Problem) => {
      summary.problems++;
      if (problem.repaired) summary.repaired++;
      report(problem);
    };

    // Thumbnails are made after the upload answers: one whose job is still queued is not missing.
    const thumbnailQueued = new Set(await this.store.integrity.blobKeysAwaitingThumbnail());
    const unseen = new Set<string>();
    let listed = true;
    try {
      for await (const key of this.blobs.list()) unseen.add(key);
    } catch (err) {
      // Something in the folder the store cannot walk (a stray file where a folder should be).
      listed = false;
      found({
        kind: 'cannot list files',
        key: 'blobs/',
        detail: `${(err as Error).message}; unreferenced files were not checked`,
      });
    }
    summary.files = unseen.size;

    let after: { blobKey: string; seq: number } | undefined;
    let group: ImageFileRow[] = [];
    for (;;) {
      const rows = await this.store.integrity.imageFiles(after, PAGE);
      for (const row of rows) {
        if (group.length > 0 && group[0]?.blob_key !== row.blob_key) {
          await this.checkBlob(group, options.repair, unseen, thumbnailQueued, found);
          group = [];
        }
        group.push(row);
      }
      summary.images += rows.length;
      const last = rows.at(-1);
      if (!last || rows.length < PAGE) break;
      after = { blobKey: last.blob_key, seq: last.seq };
    }
    if (group.length > 0) await this.checkBlob(group, options.repair, unseen, thumbnailQueued, found);

    if (listed) await this.checkUnreferenced(unseen, options.repair, found);
    return summary;
  }

  /** Checks the files of one blob, which every row in `rows` shares. */
  private async checkBlob(
    rows: ImageFileRow[],
    repair: boolean,
    unseen: Set<string>,
    thumbnailQueued: Set<string>,
    found: (problem: Problem) => void,
  ): Promise<void> {
    const hash = (rows[0] as ImageFileRow).blob_key;
    const origKey = originalKey(hash);
    const thumbKey = thumbnailKey(hash, this.limits.thumbSize);
    unseen.delete(origKey);
    unseen.delete(thumbKey);
    const each = (problem: Omit<Problem, 'imageId'>) => {
      for (const row of rows) found({ ...problem, imageId: row.image_id });
    };

    const original = await this.readOrReport(origKey, 'original', each);
    let soundOriginal: Buffer | undefined;
    if (original) {
      const digest = createHash('sha256').update(original).digest('hex');
      soundOriginal = original;
      for (const row of rows) {
        // A file cut short fails both; its size says more than its hash.
        const detail =
          original.length !== row.byte_size
            ? `${original.length} bytes, the row says ${row.byte_size}`
            : digest !== hash
              ? `its SHA-256 is ${digest.slice(0, 12)}…`
              : undefined;
        if (!detail) continue;
        soundOriginal = undefined;
        found({ kind: 'corrupt original', imageId: row.image_id, key: origKey, detail });
      }
    }

    // The thumbnail job found that the pixels do not decode: the image has a placeholder.
    const decodeError = rows.find((r) => r.decode_error)?.decode_error;
    if (decodeError) return each({ kind: 'undecodable image', key: origKey, detail: decodeError });

    const thumb = await this.readOrReport(thumbKey, 'thumbnail', each);
    if (thumb === null || (thumb && (await decodesCleanly(thumb)))) return;
    if (thumb === undefined && thumbnailQueued.has(hash)) return;
    const repaired = repair && soundOriginal ? await this.remakeThumbnail(hash, soundOriginal) : undefined;
    each(
      thumb
        ? { kind: 'corrupt thumbnail', key: thumbKey, detail: 'it does not decode', repaired }
        : { kind: 'missing thumbnail', key: thumbKey, repaired },
    );
  }

  /** The file's bytes; undefined when missing, null when unreadable (reported here). */
  private async readOrReport(
    key: string,
    what: 'original' | 'thumbnail',
    each: (problem: Omit<Problem, 'imageId'>) => void,
  ): Promise<Buffer | undefined | null> {
    try {
      const bytes = await this.blobs.read(key);
      if (!bytes && what === 'original') each({ kind: 'missing original', key });
      return bytes;
    } catch (err) {
      each({ kind: `unreadable ${what}` as ProblemKind, key, detail: (err as Error).message });
      return null;
    }
  }

  /**
   * Writes a new thumbnail, registered as pending meanwhile (as an upload does) so the collector
   * leaves it alone; if every image using the blob was deleted in the meantime, it is collected.
   */
  private async remakeThumbnail(hash: string, original: Buffer): Promise<string | undefined> {
    const { thumbSize, maxPixels } = this.limits;
    let thumb: Buffer;
    try {
      thumb = await makeThumbnail(original, await inspectImage(original, maxPixels), thumbSize, maxPixels);
    } catch {
      return undefined;
    }
    const pendingId = await this.store.blobLedger.addPending(hash, Date.now());
    try {
      await this.blobs.put(thumbnailKey(hash, thumbSize), thumb);
    } finally {
      await this.store.blobLedger.removePending(pendingId);
      await this.collector.collect(hash);
    }
    return 're-made';
  }

  /**
   * Files no row referred to while the rows were read. Judged again now: an upload of the same
   * bytes may have started (pending) or committed since; a deleted image's files may be queued
   * for collection, which is the server's business, not a problem.
   */
  private async checkUnreferenced(keys: Set<string>, repair: boolean, found: (p: Problem) => void) {
    if (keys.size === 0) return;
    const pending = new Set(await this.store.blobLedger.pendingKeys());
    const collecting = new Set(await this.store.integrity.blobKeysAwaitingCollection());
    // Waiting for a browser to claim it (easy_auth): used, though no image row names it yet.
    const held = new Set(await this.store.heldImages.blobKeys());
    for (const key of [...keys].sort()) {
      const { valid, hash, current } = describeKey(key, this.limits.thumbSize);
      if (!valid) {
        found({ kind: 'unexpected file', key, detail: 'not a blob Gazo writes; remove it by hand' });
        continue;
      }
      if (current) {
        if (pending.has(hash) || collecting.has(hash) || held.has(hash)) continue;
        if ((await this.store.integrity.imagesUsingBlob(hash)).length > 0) continue;
      }
      let repaired: string | undefined;
      if (repair) {
        // The collector removes a current-size file only if still unused, under the write lock;
        // a thumbnail of another size is never read.
        if (!current) await this.blobs.delete(key);
        repaired = !current || (await this.collector.collect(hash)) ? 'removed' : undefined;
      }
      found({ kind: 'unreferenced file', key, repaired });
    }
  }
}

/** One line per problem, as `gazo fsck` prints it. */
export function formatProblem(p: Problem): string {
  const subject = p.imageId ? `${p.imageId} ${p.key}` : p.key;
  const notes = [p.detail, p.repaired].filter(Boolean).map((n) => ` (${n})`);
  return `${p.kind}: ${subject}${notes.join('')}`;
}
