import { type Kysely, sql } from 'kysely';
import { inTransaction } from './dialect.ts';
import { bumpImagesVersion, nextRevision } from './images-version.ts';
import type { Database } from './schema.ts';
import type { ImportRecord, ImportSourceRepository } from './types.ts';

export class KyselyImportSourceRepository implements ImportSourceRepository {
  constructor(private readonly db: Kysely<Database>) {}

  listForUser(userId: number): Promise<ImportRecord[]> {
    return this.db
      .selectFrom('import_sources')
      .select(['source', 'source_image_id', 'image_id'])
      .where('user_id', '=', userId)
      .execute();
  }

  async begin(userId: number, source: string, sourceImageId: string, at: number): Promise<void> {
    await this.db
      .insertInto('import_sources')
      .values({ user_id: userId, source, source_image_id: sourceImageId, started_at: at })
      .onConflict((oc) => oc.columns(['user_id', 'source', 'source_image_id']).doNothing())
      .execute();
  }

  async finish(
    userId: number,
    source: string,
    sourceImageId: string,
    imageId: string,
    at: number,
    ocr?: { locale: string | null; text: string },
  ) {
    await inTransaction(this.db, async (trx) => {
      await trx
        .updateTable('import_sources')
        .set({ image_id: imageId, imported_at: at })
        .where('user_id', '=', userId)
        .where('source', '=', source)
        .where('source_image_id', '=', sourceImageId)
        .execute();
      if (!ocr) return;
      const changed = await trx
        .updateTable('images')
        .set((eb) => ({ ocr_locale: ocr.locale, ocr_text: ocr.text, revision: nextRevision(eb) }))
        .where('image_id', '=', imageId)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      // Every change to a user's images bumps their version: cached list pages depend on it.
      if (Number(changed.numUpdatedRows) > 0) await bumpImagesVersion(trx, userId);
    });
  }

  async findUnclaimedCopy(userId: number, source: string, sourceImageId: string, blobKey: string) {
    const row = await this.db
      .selectFrom('images')
      .innerJoin('import_sources as begun', (join) =>
        join
          .on('begun.user_id', '=', userId)
          .on('begun.source', '=', source)
          .on('begun.source_image_id', '=', sourceImageId),
      )
      .select('images.image_id')
      .where('images.user_id', '=', userId)
      .where('images.blob_key', '=', blobKey)
      .whereRef('images.uploaded_at', '>=', 'begun.started_at')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('import_sources as claimed')
              .select('claimed.id')
              .whereRef('claimed.image_id', '=', 'images.image_id'),
          ),
        ),
      )
      .orderBy('images.seq')
      .limit(sql.lit(1))
      .executeTakeFirst();
    return row?.image_id;
  }
}
