import { type Kysely, type RawBuilder, sql } from 'kysely';
import { dialectOf, inTransaction } from './dialect.ts';
import type { Database, UserRow } from './schema.ts';
import type { NewUser, UserRepository } from './types.ts';

/** Held while deciding who is (or stays) an admin: the first user, or taking rights away. */
const ADMINS_LOCK = 'users.admins';

export class KyselyUserRepository implements UserRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(user: NewUser): Promise<UserRow> {
    // "The first user is an admin" is decided in the insert itself, under the admins' lock: on
    // PostgreSQL two inserts at once would otherwise both see no user and both make an admin.
    if (user.isAdmin !== undefined) return this.insert(user, Number(user.isAdmin));
    return inTransaction(this.db, async (trx) => {
      await dialectOf(trx).lock(trx, ADMINS_LOCK);
      return new KyselyUserRepository(trx).insert(
        user,
        sql<number>`(SELECT CASE WHEN EXISTS (SELECT 1 FROM users) THEN 0 ELSE 1 END)`,
      );
    });
  }

  private insert(user: NewUser, isAdmin: number | RawBuilder<number>): Promise<UserRow> {
    return this.db
      .insertInto('users')
      .values({
        uid: user.uid,
        name: user.name,
        email: user.email,
        password_hash: user.passwordHash,
        is_admin: isAdmin,
        created_at: Date.now(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async setPassword(id: number, passwordHash: string): Promise<void> {
    await this.db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', id).execute();
  }

  async setDisabled(id: number, disabledAt: number | null): Promise<void> {
    await this.db.updateTable('users').set({ disabled_at: disabledAt }).where('id', '=', id).execute();
  }

  async takeAway(id: number, change: 'disable' | 'unadmin', at: number): Promise<boolean> {
    // One statement, under the admins' lock, so that two admins disabling each other at once
    // cannot both succeed (on PostgreSQL each would otherwise still see the other as an admin).
    return inTransaction(this.db, async (trx) => {
      await dialectOf(trx).lock(trx, ADMINS_LOCK);
      return new KyselyUserRepository(trx).takeAwayNow(id, change, at);
    });
  }

  private async takeAwayNow(id: number, change: 'disable' | 'unadmin', at: number): Promise<boolean> {
    const result = await this.db
      .updateTable('users')
      .set(change === 'disable' ? { disabled_at: at } : { is_admin: 0 })
      .where('id', '=', id)
      .where((eb) =>
        eb.or([
          eb('is_admin', '=', 0),
          eb('disabled_at', 'is not', null),
          eb.exists(
            eb
              .selectFrom('users as other')
              .select('other.id')
              .where('other.id', '!=', id)
              .where('other.is_admin', '=', 1)
              .where('other.disabled_at', 'is', null),
          ),
        ]),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async setAdmin(id: number): Promise<void> {
    await this.db.updateTable('users').set({ is_admin: 1 }).where('id', '=', id).execute();
  }

  findById(id: number): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByName(name: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
  }

  findByNameIgnoringCase(name: string): Promise<UserRow | undefined> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where((eb) => eb(eb.fn('lower', ['name']), '=', name.toLowerCase()))
      .executeTakeFirst();
  }

  async hasActiveAdmin(): Promise<boolean> {
    const row = await this.db
      .selectFrom('users')
      .select('id')
      .where('is_admin', '=', 1)
      .where('disabled_at', 'is', null)
      .limit(sql.lit(1))
      .executeTakeFirst();
    return row !== undefined;
  }

  list(): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().orderBy('id').execute();
  }
}
