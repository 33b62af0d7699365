import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { dialectOf, inTransaction } from './dialect.ts';
import type { Database } from './schema.ts';
import { limitOf } from './sql-limit.ts';
import type { ClaimedJob, FailedJob, JobCounts, JobRepository, NewJob } from './types.ts';

/** A job as its table row; also used to enqueue inside another repository's transaction. */
export function jobRow(job: NewJob) {
  const now = Date.now();
  return { kind: job.kind, payload: JSON.stringify(job.payload), run_at: job.runAt ?? now, created_at: now };
}

export class KyselyJobRepository implements JobRepository {
  constructor(
    private readonly db: Kysely<Database>,
    /** What proves this process alive to others, where the store has it (PostgreSQL: liveness.ts). */
    private readonly livenessKey: () => Promise<number | undefined> = async () => undefined,
  ) {}

  async enqueue(job: NewJob): Promise<void> {
    await this.db.insertInto('jobs').values(jobRow(job)).execute();
  }

  async enqueueMany(jobs: NewJob[]): Promise<void> {
    // One transaction, in slices: SQLite caps the parameters of one statement.
    await inTransaction(this.db, async (trx) => {
      for (let i = 0; i < jobs.length; i += 500) {
        await trx
          .insertInto('jobs')
          .values(jobs.slice(i, i + 500).map(jobRow))
          .execute();
      }
    });
  }

  async claim(kinds: string[], limit: number, now: number, leaseMs: number): Promise<ClaimedJob[]> {
    if (kinds.length === 0 || limit <= 0) return [];
    // A fresh token per claim: whoever claims the job next (after this lease expired) gets
    // another, and this holder's complete or fail then matches no row.
    // Its first 8 hex digits are the liveness key where the store has one (else 0): see
    // postgres/liveness.ts.
    const key = (await this.livenessKey()) ?? 0;
    const owner = key.toString(16).padStart(8, '0') + randomBytes(12).toString('hex');
    const dialect = dialectOf(this.db);
    const rows = await dialect.relaxed(this.db, (db) =>
      dialect.claimJobs(db, { kinds, limit, now, lockedUntil: now + leaseMs, owner }),
    );
    return rows.map((row) => ({ ...row, lease_owner: owner }));
  }

  async complete(id: number, owner: string): Promise<boolean> {
    const r = await dialectOf(this.db).relaxed(this.db, (db) =>
      db.deleteFrom('jobs').where('id', '=', id).where('lease_owner', '=', owner).executeTakeFirst(),
    );
    return r.numDeletedRows > 0n;
  }

  async fail(
    id: number,
    owner: string,
    error: string,
    retryAt: number | null,
    now: number,
  ): Promise<boolean> {
    const released = { last_error: error, locked_until: null, lease_owner: null };
    const r = await dialectOf(this.db).relaxed(this.db, (db) =>
      db
        .updateTable('jobs')
        .set(retryAt === null ? { ...released, failed_at: now } : { ...released, run_at: retryAt })
        .where('id', '=', id)
        .where('lease_owner', '=', owner)
        .executeTakeFirst(),
    );
    return r.numUpdatedRows > 0n;
  }

  async countPending(): Promise<number> {
    const r = await this.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('failed_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async counts(now: number): Promise<JobCounts[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .select([
        'kind',
        // CASE rather than sum() of a comparison: PostgreSQL cannot sum booleans.
        sql<number>`sum(CASE WHEN failed_at IS NULL AND (locked_until IS NULL OR locked_until < ${now}) THEN 1 ELSE 0 END)`.as(
          'pending',
        ),
        sql<number>`sum(CASE WHEN failed_at IS NULL AND locked_until >= ${now} THEN 1 ELSE 0 END)`.as(
          'running',
        ),
        sql<number>`sum(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END)`.as('failed'),
      ])
      .groupBy('kind')
      .orderBy('kind')
      .execute();
    return rows.map((r) => ({
      kind: r.kind,
      pending: Number(r.pending),
      running: Number(r.running),
      failed: Number(r.failed),
    }));
  }

  async listFailed(limit: number): Promise<FailedJob[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .select(['id', 'kind', 'payload', 'attempts', 'failed_at', 'last_error'])
      .where('failed_at', 'is not', null)
      .orderBy('failed_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limitOf(limit))
      .execute();
    return rows.map((r) => ({ ...r, failed_at: Number(r.failed_at), last_error: r.last_error ?? '' }));
  }

  async queueForImages(kind: string, imageIds: string[] | undefined): Promise<number> {
    const now = Date.now();
    const { rerunPayload } = dialectOf(this.db);
    return inTransaction(this.db, async (trx) => {
      const queue = async (ids: string[] | undefined) => {
        // A failure on record for the image makes way for the new attempt.
        let failed = trx.deleteFrom('jobs').where('kind', '=', kind).where('failed_at', 'is not', null);
        if (ids) failed = failed.where('image_id', 'in', ids);
        await failed.execute();
        // One job per image: an image already waiting for (or running) one is left as it is.
        let images = trx
          .selectFrom('images')
          .select([
            sql.lit(kind).as('kind'),
            // A rerun: the job replaces text the image has (from an earlier read or an import).
            rerunPayload('images.image_id').as('payload'),
            // Typed: PostgreSQL cannot tell a bare parameter's type in a select list.
            sql<number>`CAST(${now} AS BIGINT)`.as('run_at'),
            sql<number>`CAST(${now} AS BIGINT)`.as('created_at'),
          ])
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('jobs')
                  .select('jobs.id')
                  .where('jobs.kind', '=', kind)
                  .whereRef('jobs.image_id', '=', 'images.image_id'),
              ),
            ),
          )
          .orderBy('images.seq');
        if (ids) images = images.where('images.image_id', 'in', ids);
        const r = await trx
          .insertInto('jobs')
          .columns(['kind', 'payload', 'run_at', 'created_at'])
          .expression(images)
          .executeTakeFirst();
        return Number(r.numInsertedOrUpdatedRows ?? 0n);
      };
      if (!imageIds) return queue(undefined);
      let queued = 0;
      // In slices: SQLite caps the parameters of one statement.
      for (let i = 0; i < imageIds.length; i += 500) queued += await queue(imageIds.slice(i, i + 500));
      return queued;
    });
  }

  async releaseLeases(): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ locked_until: null, lease_owner: null })
      .where('locked_until', 'is not', null)
      .execute();
  }
}
