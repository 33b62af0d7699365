import type { Expression, Kysely, SqlBool } from 'kysely';
import type { Database } from './schema.ts';
import { limitOf } from './sql-limit.ts';

/**
 * The ids of up to `limit` due jobs of `kinds`, oldest due first: unleased, or their lease
 * expired, or (`holderDead`, where the dialect can tell) their lease holder provably gone.
 */
export function dueJobIds(
  db: Kysely<Database>,
  kinds: string[],
  now: number,
  limit: number,
  holderDead?: Expression<SqlBool>,
) {
  return db
    .selectFrom('jobs')
    .select('id')
    .where('failed_at', 'is', null)
    .where('kind', 'in', kinds)
    .where('run_at', '<=', now)
    .where((eb) =>
      eb.or([
        eb('locked_until', 'is', null),
        eb('locked_until', '<', now),
        ...(holderDead ? [holderDead] : []),
      ]),
    )
    .orderBy('run_at')
    .limit(limitOf(limit));
}
