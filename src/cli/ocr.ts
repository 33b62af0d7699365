import { Command } from 'commander';
import { UsageError } from './client/usage.ts';
import { configFrom, iso, printTable, requireDataDir, withDataDir } from './options.ts';

/** `gazo ocr …`: the OCR queue of a data dir (works while a server runs on it). */
export function ocrCommand(): Command {
  const ocr = new Command('ocr').description('the background queue that reads the text of images');
  ocr.addCommand(
    withDataDir(
      new Command('status')
        .description('jobs pending, running and failed, per kind, and why each failed job failed')
        .option('--json', 'print the status as one JSON object'),
    ).action(async (options: { dataDir?: string; json?: boolean }) => {
      await requireDataDir(options);
      const [{ openStore }, { JobQueueService }, { BLOB_GC_JOB, OCR_JOB, THUMBNAIL_JOB }] = await Promise.all(
        [
          import('../store/index.ts'),
          import('../services/job-queue.service.ts'),
          import('../store/images.repository.ts'),
        ],
      );
      const config = configFrom(options);
      const store = await openStore(config.database, config.dataDir);
      try {
        const status = await new JobQueueService(store).status([OCR_JOB, THUMBNAIL_JOB, BLOB_GC_JOB]);
        if (options.json) {
          process.stdout.write(`${JSON.stringify(status)}\n`);
          return;
        }
        printTable(
          ['kind', 'pending', 'running', 'failed'],
          status.kinds.map((k) => [k.kind, k.pending, k.running, k.failed]),
        );
        const failedTotal = status.kinds.reduce((n, k) => n + k.failed, 0);
        if (failedTotal === 0) {
          process.stdout.write('\nno failed jobs\n');
          return;
        }
        const shown = status.failed.length < failedTotal ? ` (the latest ${status.failed.length})` : '';
        process.stdout.write(`\nfailed jobs${shown}:\n`);
        printTable(
          ['id', 'kind', 'for', 'attempts', 'failed at', 'reason'],
          status.failed.map((j) => [
            j.id,
            j.kind,
            subject(j.payload),
            j.attempts,
            iso(j.failed_at),
            oneLine(j.last_error),
          ]),
        );
      } finally {
        await store.close();
      }
    }),
  );
  ocr.addCommand(
    withDataDir(
      new Command('rerun')
        .description('read the text of images again (their current text is replaced when the read ends)')
        .argument('[image-ids...]', 'the images to read again')
        .option('--all', 'every image'),
    ).action(async (imageIds: string[], options: { dataDir?: string; all?: boolean }) => {
      if (Boolean(options.all) === imageIds.length > 0) {
        throw new UsageError('give either --all or the ids of the images to read again');
      }
      await requireDataDir(options);
      const [{ openStore }, { JobQueueService }] = await Promise.all([
        import('../store/index.ts'),
        import('../services/job-queue.service.ts'),
      ]);
      const config = configFrom(options);
      const store = await openStore(config.database, config.dataDir);
      try {
        const { queued, unknown } = await new JobQueueService(store).rerunOcr(options.all ? 'all' : imageIds);
        process.stdout.write(`queued ${queued} image${queued === 1 ? '' : 's'} for OCR\n`);
        for (const id of unknown) process.stderr.write(`gazo: no image ${id}\n`);
        if (unknown.length > 0) process.exitCode = 1;
      } finally {
        await store.close();
      }
    }),
  );
  return ocr;
}

/** What a job is about, from its payload: `image ID`, `blob KEY` (shortened), or the payload. */
function subject(payload: string): string {
  try {
    const p = JSON.parse(payload) as { imageId?: unknown; blobKey?: unknown };
    if (typeof p.imageId === 'string') return `image ${p.imageId}`;
    if (typeof p.blobKey === 'string') return `blob ${p.blobKey.slice(0, 12)}…`;
  } catch {
    // shown as stored
  }
  return payload.slice(0, 60);
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();
