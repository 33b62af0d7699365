import { OCR_JOB } from '../store/images.repository.ts';
import type { FailedJob, JobCounts, MetadataStore } from '../store/types.ts';

export interface QueueStatus {
  /** Every kind with a job in the table, and the kinds always shown, in name order. */
  kinds: JobCounts[];
  /** The most recent failures, newest first, with their reasons. */
  failed: FailedJob[];
}

/** What `gazo ocr status` shows, and the hook `gazo ocr rerun` calls. */
export class JobQueueService {
  constructor(private readonly store: MetadataStore) {}

  async status(always: string[], failedLimit = 50): Promise<QueueStatus> {
    const counts = await this.store.jobs.counts(Date.now());
    const seen = new Set(counts.map((c) => c.kind));
    const kinds = [
      ...counts,
      ...always.filter((k) => !seen.has(k)).map((kind) => ({ kind, pending: 0, running: 0, failed: 0 })),
    ].sort((a, b) => a.kind.localeCompare(b.kind));
    return { kinds, failed: await this.store.jobs.listFailed(failedLimit) };
  }

  /**
   * Queues the images to be read again (`ocr.read`), every image with `'all'`. An image already
   * waiting for its reading keeps its one job; a failed reading is replaced by a new one. Ids
   * of no image are answered in `unknown` and queue nothing.
   */
  async rerunOcr(target: 'all' | string[]): Promise<{ queued: number; unknown: string[] }> {
    if (target === 'all')
      return { queued: await this.store.jobs.queueForImages(OCR_JOB, undefined), unknown: [] };
    const unknown: string[] = [];
    for (const id of new Set(target)) if (!(await this.store.images.findByImageId(id))) unknown.push(id);
    const known = [...new Set(target)].filter((id) => !unknown.includes(id));
    const queued = known.length > 0 ? await this.store.jobs.queueForImages(OCR_JOB, known) : 0;
    return { queued, unknown };
  }
}
