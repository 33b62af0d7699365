import type { Kysely } from 'kysely';
import { inTransaction } from './dialect.ts';
import { dropExpiry, imageRowOf } from './held-images.repository.ts';
import { BLOB_GC_JOB, insertImage } from './images.repository.ts';
import { jobRow } from './jobs.repository.ts';
import type { AnonymousDeviceRow, Database, HeldImageRow, ImageRow } from './schema.ts';
import type { AnonymousDeviceRepository, NewJob } from './types.ts';

export class KyselyAnonymousDeviceRepository implements AnonymousDeviceRepository {
  constructor(private readonly db: Kysely<Database>) {}

  create(hash: string, prefix: string, addressHash: string, at: number): Promise<AnonymousDeviceRow> {
    return this.db
      .insertInto('anonymous_devices')
      .values({ device_hash: hash, device_prefix: prefix, address_hash: addressHash, created_at: at })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  findByHash(hash: string): Promise<AnonymousDeviceRow | undefined> {
    return this.db
      .selectFrom('anonymous_devices')
      .selectAll()
      .where('device_hash', '=', hash)
      .executeTakeFirst();
  }

  async countCreatedSince(addressHash: string, since: number): Promise<number> {
    const row = await this.db
      .selectFrom('anonymous_devices')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('address_hash', '=', addressHash)
      .where('created_at', '>=', since)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countHeld(deviceId: number): Promise<number> {
    const row = await this.db
      .selectFrom('held_images')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('device_id', '=', deviceId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async touch(id: number, at: number): Promise<void> {
    await this.db.updateTable('anonymous_devices').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  async link(
    deviceId: number,
    userId: number,
    now: number,
    jobsFor: (held: HeldImageRow) => NewJob[],
  ): Promise<ImageRow[] | undefined> {
    return inTransaction(this.db, async (trx) => {
      const held = await trx
        .deleteFrom('held_images')
        .where('device_id', '=', deviceId)
        .returningAll()
        .execute();
      const device = await trx
        .deleteFrom('anonymous_devices')
        .where('id', '=', deviceId)
        .returningAll()
        .executeTakeFirst();
      if (!device) return undefined;
      // The same id now signs the client in as the user, like one made by `gazo device create`.
      await trx
        .insertInto('devices')
        .values({
          user_id: userId,
          device_hash: device.device_hash,
          device_prefix: device.device_prefix,
          created_at: device.created_at,
          last_used_at: device.last_used_at,
        })
        .execute();
      const images: ImageRow[] = [];
      for (const row of held) {
        await dropExpiry(trx, row.id);
        // One whose time is up is left to its expiry job, which finds it gone and does nothing:
        // its blob is collected here instead.
        if (row.expires_at <= now) {
          await trx
            .insertInto('jobs')
            .values(jobRow({ kind: BLOB_GC_JOB, payload: { blobKey: row.blob_key } }))
            .execute();
          continue;
        }
        images.push(await insertImage(trx, imageRowOf(row, userId), jobsFor(row)));
      }
      return images;
    });
  }
}
