import type { ImportItem } from './items.ts';

/** Where images come from: an API account, or an export folder or zip. */
export interface ImportSource {
  /** Every image, in the source's order. */
  items(): AsyncIterable<ImportItem>;
  /** How many images the source holds, once known (for the progress bar). */
  total(): number | undefined;
  /** The image's bytes. */
  fetch(item: ImportItem): Promise<Uint8Array>;
  close?(): Promise<void>;
}

/** What the target remembers of earlier runs: source images imported, or begun and cut short. */
export interface ImportLedger {
  /** Keys (`importKey`) of images imported, and of images begun without a known end. */
  load(): Promise<{ done: Set<string>; begun: Set<string> }>;
  begin(item: ImportItem): Promise<void>;
  finish(item: ImportItem, imageId: string): Promise<void>;
}

/** Where images go: a server over HTTP, or a local data dir. */
export interface ImportTarget {
  ledger: ImportLedger;
  /** Stores the image with its metadata; answers the new image id. */
  upload(bytes: Uint8Array, item: ImportItem): Promise<string>;
  /**
   * The image an earlier, cut-short run uploaded for this item, if it did: looked for only for
   * items the ledger has as begun, so that a killed import never leaves a duplicate.
   */
  findCopy(bytes: Uint8Array, item: ImportItem): Promise<string | undefined>;
  close?(): Promise<void>;
}

export interface ImportSummary {
  /** Images the source listed. */
  listed: number;
  imported: number;
  /** Already in the target from an earlier run. */
  skipped: number;
  /** Listed without a URL: locked or expired at the source. */
  unavailable: number;
  failed: Array<{ sourceId: string; reason: string }>;
  /** With --dry-run: what a real run would import. */
  wouldImport: number;
  dryRun: boolean;
}

export type ImportEvent =
  | { kind: 'total'; total: number }
  | {
      kind: 'done';
      outcome: 'imported' | 'skipped' | 'unavailable' | 'failed' | 'would-import';
      item: ImportItem;
    };

export interface ImportOptions {
  /** Downloads (and uploads) at once. */
  concurrency: number;
  dryRun: boolean;
  onEvent?: (event: ImportEvent) => void;
}

export const importKey = (item: Pick<ImportItem, 'source' | 'sourceId'>) =>
  `${item.source}\n${item.sourceId}`;

/**
 * Copies every image of `source` that `target` does not hold yet. The ledger entry is written
 * before the upload and completed after it: a run killed in between leaves a "begun" entry that
 * the next run settles with `findCopy`, so resuming neither loses nor duplicates an image.
 */
export async function runImport(
  source: ImportSource,
  target: ImportTarget,
  options: ImportOptions,
): Promise<ImportSummary> {
  const summary: ImportSummary = {
    listed: 0,
    imported: 0,
    skipped: 0,
    unavailable: 0,
    failed: [],
    wouldImport: 0,
    dryRun: options.dryRun,
  };
  const { done, begun } = await target.ledger.load();
  const seen = new Set<string>();
  const running = new Set<Promise<void>>();
  let announcedTotal = false;
  const report = (outcome: Extract<ImportEvent, { kind: 'done' }>['outcome'], item: ImportItem) =>
    options.onEvent?.({ kind: 'done', outcome, item });

  const copy = async (item: ImportItem, key: string) => {
    try {
      const bytes = await source.fetch(item);
      const earlier = begun.has(key) ? await target.findCopy(bytes, item) : undefined;
      if (earlier) {
        await target.ledger.finish(item, earlier);
        summary.skipped++;
        return report('skipped', item);
      }
      await target.ledger.begin(item);
      const imageId = await target.upload(bytes, item);
      await target.ledger.finish(item, imageId);
      summary.imported++;
      report('imported', item);
    } catch (err) {
      summary.failed.push({ sourceId: item.sourceId, reason: (err as Error).message });
      report('failed', item);
    }
  };

  try {
    await feed();
  } finally {
    // Even when listing fails midway, what has started finishes (and is recorded).
    await Promise.all(running);
  }
  return summary;

  async function feed() {
    for await (const item of source.items()) {
      const total = source.total();
      if (!announcedTotal && total !== undefined) {
        announcedTotal = true;
        options.onEvent?.({ kind: 'total', total });
      }
      const key = importKey(item);
      // A live source can shift an image onto the next page while we read: count it once.
      if (seen.has(key)) continue;
      seen.add(key);
      summary.listed++;
      if (done.has(key)) {
        summary.skipped++;
        report('skipped', item);
      } else if (item.url === null) {
        summary.unavailable++;
        report('unavailable', item);
      } else if (options.dryRun) {
        summary.wouldImport++;
        report('would-import', item);
      } else {
        const job: Promise<void> = copy(item, key).finally(() => running.delete(job));
        running.add(job);
        if (running.size >= options.concurrency) await Promise.race(running);
      }
    }
  }
}
