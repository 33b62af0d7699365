import { createHash } from 'node:crypto';
import type { ImageRow, UserRow } from '../../store/schema.ts';
import type { ImportSourceRepository } from '../../store/types.ts';
import type { UploadService } from '../upload.service.ts';
import { type ImportLedger, type ImportTarget, importKey } from './engine.ts';
import type { ImportItem } from './items.ts';

/** The one place the import hands bytes to the upload service (which stages them on disk). */
export function uploadIntoDataDir(
  uploads: UploadService,
  user: UserRow,
  bytes: Uint8Array,
  item: ImportItem,
): Promise<ImageRow> {
  return uploads.upload(user.id, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
    createdAt: item.createdAtMs,
    app: item.app,
    title: item.title,
    url: item.refererUrl,
    desc: item.desc,
    metadataIsPublic: item.metadataIsPublic,
    accessPolicy: item.accessPolicy,
  });
}

/** The import ledger of a local data dir: the `import_sources` table, beside the images. */
class TableLedger implements ImportLedger {
  constructor(
    private readonly records: ImportSourceRepository,
    private readonly userId: number,
  ) {}

  async load() {
    const done = new Set<string>();
    const begun = new Set<string>();
    for (const r of await this.records.listForUser(this.userId)) {
      (r.image_id ? done : begun).add(importKey({ source: r.source, sourceId: r.source_image_id }));
    }
    return { done, begun };
  }

  begin(item: ImportItem) {
    return this.records.begin(this.userId, item.source, item.sourceId, Date.now());
  }

  finish(item: ImportItem, imageId: string) {
    return this.records.finish(this.userId, item.source, item.sourceId, imageId, Date.now(), item.ocr);
  }
}

/** A user of a local data dir (`--data-dir D --user NAME`): no server, no token needed. */
export class DataDirTarget implements ImportTarget {
  readonly ledger: ImportLedger;

  constructor(
    private readonly uploads: UploadService,
    private readonly records: ImportSourceRepository,
    private readonly user: UserRow,
  ) {
    this.ledger = new TableLedger(records, user.id);
  }

  async upload(bytes: Uint8Array, item: ImportItem): Promise<string> {
    return (await uploadIntoDataDir(this.uploads, this.user, bytes, item)).image_id;
  }

  /** Blobs are named by the SHA-256 of their bytes: the copy is the image with that key. */
  findCopy(bytes: Uint8Array, item: ImportItem): Promise<string | undefined> {
    const blobKey = createHash('sha256').update(bytes).digest('hex');
    return this.records.findUnclaimedCopy(this.user.id, item.source, item.sourceId, blobKey);
  }
}
