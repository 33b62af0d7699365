import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely, Transaction } from 'kysely';
import { dialectOf, inTransaction } from './dialect.ts';
import type { Database } from './schema.ts';
import type { BlobLedger } from './types.ts';

/**
 * How long a collector may take to delete a blob's files after committing that it will. An
 * upload of the same bytes waits for it that long at most: past it the collector is taken for
 * dead (its job runs again later, and then finds the upload). Deleting two files takes
 * milliseconds on a disk and well under a second on S3. It must not outlast the lease of the
 * `blob.collect` job (its 60 s timeout plus the worker's grace): the job of a collector that
 * died is claimed again only after that, and must then find this row expired, or it would
 * leave the files to a collector that is gone.
 */
export const COLLECTION_LEASE_MS = 60_000;
/** How often a waiting upload looks again whether the collection is over. */
const WAIT_STEP_MS = 20;

/** The named lock that makes uploads and collection of the same blob exclude each other. */
export const blobLock = (blobKey: string) => `blob:${blobKey}`;

/**
 * Whether the collector whose lease ends at `until` is gone: its lease is up, or it started
 * before `deadBefore` (a sweep's bound: every process at work then is known to be dead).
 */
const collectorDead = (until: number, deadBefore: number | undefined) =>
  until < Date.now() || (deadBefore !== undefined && until - COLLECTION_LEASE_MS < deadBefore);

export class BlobCollectionInProgress extends Error {
  constructor(blobKey: string) {
    super(`blob ${blobKey} is being collected; try again shortly`);
  }
}

export class KyselyBlobLedger implements BlobLedger {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Registers an upload of `blobKey` that will write the bytes and then commit its image. Under
   * the blob's lock: no collector can be between its check and its deletes meanwhile. While
   * one is deleting the bytes (it committed before this), waits for it to finish, so that the
   * bytes this upload then writes are never deleted under it.
   */
  async addPending(blobKey: string, at: number): Promise<number> {
    const deadline = Date.now() + COLLECTION_LEASE_MS + 5_000;
    for (;;) {
      // Relaxed durability (no fsync of its own): the upload's durable commit syncs this row
      // with it before any answer, so an acknowledged upload is as durable as before. What a
      // power cut can lose is the row of an upload that was never answered, leaving its bytes
      // for `gazo fsck` to name instead of for the start-up sweep (a process crash loses nothing).
      const id = await dialectOf(this.db).relaxed(this.db, (db) =>
        inTransaction(db, (trx) => this.tryAddPending(trx, blobKey, at)),
      );
      if (id !== undefined) return id;
      // Inside a caller's transaction there is no waiting: it holds what the collector needs.
      if (this.db.isTransaction || Date.now() > deadline) throw new BlobCollectionInProgress(blobKey);
      await sleep(WAIT_STEP_MS);
    }
  }

  private async tryAddPending(trx: Transaction<Database>, blobKey: string, at: number) {
    await dialectOf(trx).lock(trx, blobLock(blobKey));
    const now = Date.now();
    const collecting = await trx
      .selectFrom('blob_collections')
      .select('until')
      .where('blob_key', '=', blobKey)
      .executeTakeFirst();
    if (collecting && collecting.until >= now) return undefined;
    // A collector that outlived its lease is dead; its job will find this upload.
    if (collecting) await trx.deleteFrom('blob_collections').where('blob_key', '=', blobKey).execute();
    const row = await trx
      .insertInto('pending_blobs')
      .values({ blob_key: blobKey, created_at: at })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async removePending(id: number): Promise<void> {
    await this.db.deleteFrom('pending_blobs').where('id', '=', id).execute();
  }

  async keysToSweep(before: number): Promise<string[]> {
    const deadUploads = this.db
      .selectFrom('pending_blobs')
      .select('blob_key')
      .where('created_at', '<', before);
    const deadCollections = this.db
      .selectFrom('blob_collections')
      .select('blob_key')
      .where('until', '<', Math.max(Date.now(), before + COLLECTION_LEASE_MS));
    const rows = await deadUploads.union(deadCollections).execute();
    return rows.map((r) => r.blob_key);
  }

  /**
   * Decides under the blob's lock, commits, and only then runs `remove` (file deletes: no lock
   * and no transaction are held over them). The commit leaves a `blob_collections` row that makes
   * uploads of these bytes wait until `remove` is done, and goes when `remove` has ended. Until
   * then it records unfinished work: a collector that dies in `remove` leaves it until its lease
   * is up (its collection job runs again; keysToSweep names it), one whose `remove` fails ends the
   * lease at once. With `deadBefore` (a sweep), the blob's pending uploads registered before it
   * are dropped in the same transaction, so that a death at any point leaves them or the row.
   */
  async collectIfUnused(
    blobKey: string,
    remove: () => Promise<void>,
    options: { deadBefore?: number } = {},
  ): Promise<boolean> {
    if (this.db.isTransaction)
      throw new Error('collectIfUnused deletes after its own commit: call it outside transaction()');
    const { deadBefore } = options;
    const owner = randomBytes(16).toString('hex');
    const decided = await this.db.transaction().execute(async (trx) => {
      await dialectOf(trx).lock(trx, blobLock(blobKey));
      if (deadBefore !== undefined)
        await trx
          .deleteFrom('pending_blobs')
          .where('blob_key', '=', blobKey)
          .where('created_at', '<', deadBefore)
          .execute();
      // One statement, so one snapshot: an upload committing its image meanwhile moves the blob
      // from pending_blobs to images in one transaction, and two separate reads (each with its
      // own snapshot on PostgreSQL) could see it in neither.
      const { image, pending, held } = await trx
        .selectNoFrom((eb) => [
          eb.exists(eb.selectFrom('images').select('seq').where('blob_key', '=', blobKey)).as('image'),
          eb
            .exists(eb.selectFrom('pending_blobs').select('id').where('blob_key', '=', blobKey))
            .as('pending'),
          // An image waiting to be claimed (easy_auth, an unlinked device) needs its bytes too.
          eb.exists(eb.selectFrom('held_images').select('id').where('blob_key', '=', blobKey)).as('held'),
        ])
        .executeTakeFirstOrThrow();
      // true/false on PostgreSQL, 1/0 on SQLite.
      const used = Boolean(image) || Boolean(pending) || Boolean(held);
      const other = await trx
        .selectFrom('blob_collections')
        .select('until')
        .where('blob_key', '=', blobKey)
        .executeTakeFirst();
      const otherAlive = other !== undefined && !collectorDead(other.until, deadBefore);
      if (used) {
        // A dead collector's unfinished work is void now that the bytes are used again.
        if (other && !otherAlive)
          await trx.deleteFrom('blob_collections').where('blob_key', '=', blobKey).execute();
        return false;
      }
      // Another collector is deleting the files right now: let it. (Taking over would let its
      // late deletes land after this one ended, on bytes an upload wrote in between.)
      if (otherAlive) return false;
      const until = Date.now() + COLLECTION_LEASE_MS;
      await trx
        .insertInto('blob_collections')
        .values({ blob_key: blobKey, owner, until })
        // An earlier collector of this blob died mid-way (its row expired): this one takes over.
        .onConflict((oc) => oc.column('blob_key').doUpdateSet({ owner, until }))
        .execute();
      return true;
    });
    if (!decided) return false;
    try {
      await remove();
    } catch (err) {
      // Nobody is deleting now: uploads need not wait, and the next sweep finishes the work.
      await this.db
        .updateTable('blob_collections')
        .set({ until: 0 })
        .where('blob_key', '=', blobKey)
        .where('owner', '=', owner)
        .execute();
      throw err;
    }
    await this.db
      .deleteFrom('blob_collections')
      .where('blob_key', '=', blobKey)
      .where('owner', '=', owner)
      .execute();
    return true;
  }

  async pendingKeys(): Promise<string[]> {
    const rows = await this.db.selectFrom('pending_blobs').select('blob_key').distinct().execute();
    return rows.map((r) => r.blob_key);
  }
}
