import { type Kysely, sql } from 'kysely';
import type { Database, UserRow } from './schema.ts';
import type { NewUser, UserRepository } from './types.ts';

export class KyselyUserRepository implements UserRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(user: NewUser): Promise<UserRow> {
    // "The first user is an admin" is decided in the insert itself, so two at once cannot both be.
    const isAdmin =
      user.isAdmin === undefined
        ? sql<number>`(SELECT CASE WHEN EXISTS (SELECT 1 FROM users) THEN 0 ELSE 1 END)`
        : Number(user.isAdmin);
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
    // One statement, so that two admins disabling each other at once cannot both succeed.
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
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  list(): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().orderBy('id').execute();
  }
}
