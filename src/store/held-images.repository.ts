import type { Kysely, Transaction } from 'kysely';
import { inTransaction } from './dialect.ts';
import type { CommitDurably } from './durable-commit.ts';
import { BLOB_GC_JOB, insertImage } from './images.repository.ts';
import { jobRow } from './jobs.repository.ts';
import type { Database, HeldImageRow, ImageRow, NewHeldImageRow, NewImageRow } from './schema.ts';
import type { HeldImageRepository, NewJob } from './types.ts';

/** Deleting a held image nobody claimed in time; payload `{heldId}`. */
export const HOLD_EXPIRE_JOB = 'image.hold.expire';

export class KyselyHeldImageRepository implements HeldImageRepository {
  constructor(
    private readonly db: Kysely<Database>,
    /** An upload's commit (see durable-commit.ts). */
    private readonly commitDurably: CommitDurably,
  ) {}

  async hold(row: NewHeldImageRow, pendingId: number): Promise<HeldImageRow> {
    return this.commitDurably(this.db, async (trx) => {
      const held = await trx.insertInto('held_images').values(row).returningAll().executeTakeFirstOrThrow();
      await trx
        .insertInto('jobs')
        .values(jobRow(expiryJob(held.id, held.expires_at)))
        .execute();
      await trx.deleteFrom('pending_blobs').where('id', '=', pendingId).execute();
      return held;
    });
  }

  findByTokenHash(hash: string): Promise<HeldImageRow | undefined> {
    return this.db.selectFrom('held_images').selectAll().where('token_hash', '=', hash).executeTakeFirst();
  }

  async startSignIn(id: number, at: number, expiresAt: number): Promise<HeldImageRow | undefined> {
    return inTransaction(this.db, async (trx) => {
      const row = await trx
        .updateTable('held_images')
        .set({ sign_in_started_at: at, expires_at: expiresAt })
        .where('id', '=', id)
        .where('sign_in_started_at', 'is', null)
        .where('expires_at', '>', at)
        .returningAll()
        .executeTakeFirst();
      // The expiry already queued finds the row not yet due and leaves it; this one removes it.
      if (row)
        await trx
          .insertInto('jobs')
          .values(jobRow(expiryJob(id, expiresAt)))
          .execute();
      return row;
    });
  }

  async claim(id: number, userId: number, now: number, jobs: NewJob[]): Promise<ImageRow | undefined> {
    return inTransaction(this.db, async (trx) => {
      const held = await trx
        .deleteFrom('held_images')
        .where('id', '=', id)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      if (!held) return undefined;
      await dropExpiry(trx, id);
      return insertImage(trx, imageRowOf(held, userId), jobs);
    });
  }

  async expire(id: number, now: number): Promise<{ blobKey: string } | undefined> {
    return inTransaction(this.db, async (trx) => {
      const held = await trx
        .deleteFrom('held_images')
        .where('id', '=', id)
        .where('expires_at', '<=', now)
        .returning('blob_key')
        .executeTakeFirst();
      if (!held) return undefined;
      // Queued with the delete: should the process die before the caller collects, the job does.
      await trx
        .insertInto('jobs')
        .values(jobRow({ kind: BLOB_GC_JOB, payload: { blobKey: held.blob_key } }))
        .execute();
      return { blobKey: held.blob_key };
    });
  }

  async blobKeys(): Promise<string[]> {
    const rows = await this.db.selectFrom('held_images').select('blob_key').distinct().execute();
    return rows.map((r) => r.blob_key);
  }
}

/** The image a held one becomes, for its new owner. */
export function imageRowOf(held: HeldImageRow, userId: number): NewImageRow {
  const { id: _id, token_hash, client_id, expires_at, sign_in_started_at, device_id, ...image } = held;
  return {
    ...image,
    user_id: userId,
    metadata_is_public: Number(image.metadata_is_public) === 1,
    ocr_locale: null,
    ocr_text: '',
  };
}

/**
 * A claimed held image's expiry has nothing left to do: gone from the queue, it is not waited
 * for either. Found by its payload, written as jobRow writes it.
 */
export async function dropExpiry(trx: Transaction<Database>, heldId: number): Promise<void> {
  await trx
    .deleteFrom('jobs')
    .where('kind', '=', HOLD_EXPIRE_JOB)
    .where('payload', '=', JSON.stringify({ heldId }))
    .execute();
}

const expiryJob = (heldId: number, at: number): NewJob => ({
  kind: HOLD_EXPIRE_JOB,
  payload: { heldId },
  runAt: at,
});
