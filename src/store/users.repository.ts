import type { Kysely } from 'kysely';
import type { Database, UserRow } from './schema.ts';
import type { NewUser, UserRepository } from './types.ts';

export class KyselyUserRepository implements UserRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(user: NewUser): Promise<UserRow> {
    return this.db
      .insertInto('users')
      .values({
        uid: user.uid,
        name: user.name,
        email: user.email,
        password_hash: user.passwordHash,
        created_at: Date.now(),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
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
