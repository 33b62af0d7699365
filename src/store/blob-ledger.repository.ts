import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { BlobLedger } from './types.ts';

export class KyselyBlobLedger implements BlobLedger {
  constructor(private readonly db: Kysely<Database>) {}

  async addPending(blobKey: string, at: number): Promise<number> {
    const row = await this.db
      .insertInto('pending_blobs')
      .values({ blob_key: blobKey, created_at: at })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async removePending(id: number): Promise<void> {
    await this.db.deleteFrom('pending_blobs').where('id', '=', id).execute();
  }

  async takeStalePending(before: number): Promise<string[]> {
    const rows = await this.db
      .deleteFrom('pending_blobs')
      .where('created_at', '<', before)
      .returning('blob_key')
      .execute();
    return [...new Set(rows.map((r) => r.blob_key))];
  }

  async collectIfUnused(blobKey: string, remove: () => Promise<void>): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      // A write first, so this transaction holds SQLite's write lock until it ends: an upload
      // of the same bytes cannot register itself between our check and the removal.
      await trx
        .deleteFrom('pending_blobs')
        .where('blob_key', '=', blobKey)
        .where('created_at', '<', 0)
        .execute();
      const used =
        (await trx
          .selectFrom('images')
          .select('seq')
          .where('blob_key', '=', blobKey)
          .limit(1)
          .executeTakeFirst()) ??
        (await trx
          .selectFrom('pending_blobs')
          .select('id')
          .where('blob_key', '=', blobKey)
          .limit(1)
          .executeTakeFirst()) ??
        // An image waiting to be claimed (easy_auth) needs its bytes as much as an image does.
        (await trx
          .selectFrom('held_images')
          .select('id')
          .where('blob_key', '=', blobKey)
          .limit(1)
          .executeTakeFirst());
      if (used) return false;
      await remove();
      return true;
    });
  }

  async pendingKeys(): Promise<string[]> {
    const rows = await this.db.selectFrom('pending_blobs').select('blob_key').distinct().execute();
    return rows.map((r) => r.blob_key);
  }
}
