import type { Kysely } from 'kysely';
import type { Database, JobRow } from './schema.ts';
import type { JobRepository, NewJob } from './types.ts';

/** A job as its table row; also used to enqueue inside another repository's transaction. */
export function jobRow(job: NewJob) {
  const now = Date.now();
  return { kind: job.kind, payload: JSON.stringify(job.payload), run_at: job.runAt ?? now, created_at: now };
}

export class KyselyJobRepository implements JobRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async enqueue(job: NewJob): Promise<void> {
    await this.db.insertInto('jobs').values(jobRow(job)).execute();
  }

  async claim(kinds: string[], limit: number, now: number, leaseMs: number): Promise<JobRow[]> {
    if (kinds.length === 0) return [];
    return this.db.transaction().execute(async (trx) => {
      const due = await trx
        .selectFrom('jobs')
        .select('id')
        .where('failed_at', 'is', null)
        .where('run_at', '<=', now)
        .where('kind', 'in', kinds)
        .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<', now)]))
        .orderBy('run_at')
        .limit(limit)
        .execute();
      if (due.length === 0) return [];
      return trx
        .updateTable('jobs')
        .set((eb) => ({ locked_until: now + leaseMs, attempts: eb('attempts', '+', 1) }))
        .where(
          'id',
          'in',
          due.map((d) => d.id),
        )
        .returningAll()
        .execute();
    });
  }

  async complete(id: number): Promise<void> {
    await this.db.deleteFrom('jobs').where('id', '=', id).execute();
  }

  async fail(id: number, error: string, retryAt: number | null, now: number): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set(
        retryAt === null
          ? { last_error: error, locked_until: null, failed_at: now }
          : { last_error: error, locked_until: null, run_at: retryAt },
      )
      .where('id', '=', id)
      .execute();
  }

  async countPending(): Promise<number> {
    const r = await this.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('failed_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async releaseLeases(): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ locked_until: null })
      .where('locked_until', 'is not', null)
      .execute();
  }
}
