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

  findById(id: number): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findByName(name: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
  }

  list(): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().orderBy('id').execute();
  }
}
