import type { Kysely } from 'kysely';
import { inTransaction } from './dialect.ts';
import type { Database, InviteRow, UserRow } from './schema.ts';
import type { InviteRepository, ListedInvite, NewUser } from './types.ts';
import { KyselyUserRepository } from './users.repository.ts';

/** Sign-up links an admin makes, by the SHA-256 of the link's token. */
export class KyselyInviteRepository implements InviteRepository {
  constructor(private readonly db: Kysely<Database>) {}

  create(invite: {
    hash: string;
    createdBy: number;
    createdAt: number;
    expiresAt: number;
  }): Promise<InviteRow> {
    return this.db
      .insertInto('invites')
      .values({
        invite_hash: invite.hash,
        created_by: invite.createdBy,
        created_at: invite.createdAt,
        expires_at: invite.expiresAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  findUsable(hash: string, now: number): Promise<InviteRow | undefined> {
    return this.db
      .selectFrom('invites')
      .selectAll()
      .where('invite_hash', '=', hash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
  }

  listUsable(now: number): Promise<ListedInvite[]> {
    return this.db
      .selectFrom('invites')
      .innerJoin('users', 'users.id', 'invites.created_by')
      .selectAll('invites')
      .select('users.name as created_by_name')
      .where('invites.used_at', 'is', null)
      .where('invites.expires_at', '>', now)
      .orderBy('invites.id', 'desc')
      .execute();
  }

  async revoke(id: number): Promise<boolean> {
    const result = await this.db
      .deleteFrom('invites')
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  redeem(hash: string, now: number, user: NewUser): Promise<UserRow | undefined> {
    return inTransaction(this.db, async (trx) => {
      // Claimed first and conditionally: of two sign-ups with one link, only one updates the row.
      const claimed = await trx
        .updateTable('invites')
        .set({ used_at: now })
        .where('invite_hash', '=', hash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) return undefined;
      // A failed insert (the name was taken meanwhile) rolls the claim back: the link stays usable.
      const row = await new KyselyUserRepository(trx).create(user);
      await trx.updateTable('invites').set({ used_by: row.id }).where('invite_hash', '=', hash).execute();
      return row;
    });
  }
}
