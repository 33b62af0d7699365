import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { openRuntime, type Runtime } from '../src/runtime.ts';
import { JobQueueService } from '../src/services/job-queue.service.ts';
import { OCR_JOB, THUMBNAIL_JOB } from '../src/store/images.repository.ts';
import { killChildren, runCli } from './helpers/child.ts';
import { solidPng } from './helpers/images.ts';
import { makeDataDir } from './helpers/server.ts';

/** `gazo ocr status` on a real data dir, and the hook `gazo ocr rerun` calls. */
describe('gazo ocr status', { timeout: 60_000 }, () => {
  let dataDir: string;
  let rt: Runtime;
  let queue: JobQueueService;
  const ids: string[] = [];

  beforeAll(async () => {
    dataDir = await makeDataDir();
    // OCR off: uploads then queue no read of their own, and only the reruns below make them.
    rt = await openRuntime(loadConfig({ dataDir, ocr: false }, {}));
    queue = new JobQueueService(rt.store);
    const user = await rt.accounts.createUser('reader');
    for (const color of ['#102030', '#203040', '#304050']) {
      ids.push((await rt.uploads.upload(user.id, await solidPng(8, 8, color))).image_id);
    }
  });
  afterAll(async () => {
    await killChildren();
    await rt.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('queues OCR for given images or all of them, one job per image', async () => {
    expect(await queue.rerunOcr([ids[0] as string, ids[0] as string, 'no-such-image'])).toEqual({
      queued: 1,
      unknown: ['no-such-image'],
    });
    // Already queued: not twice. The others are new.
    expect(await queue.rerunOcr('all')).toEqual({ queued: 2, unknown: [] });
    expect(await queue.rerunOcr('all')).toEqual({ queued: 0, unknown: [] });
    const status = await queue.status([OCR_JOB]);
    expect(status.kinds.find((k) => k.kind === OCR_JOB)).toEqual({
      kind: OCR_JOB,
      pending: 3,
      running: 0,
      failed: 0,
    });
  });

  it('shows pending, running and failed jobs per kind, and each failure’s reason', async () => {
    // One OCR job running, one given up on with its reason.
    const [failing, running] = await rt.store.jobs.claim([OCR_JOB], 2, Date.now(), 600_000);
    if (!failing || !running) throw new Error('nothing claimed');
    await rt.store.jobs.fail(failing.id, failing.lease_owner, 'timed out after\n60000 ms', null, Date.now());

    const res = await runCli(['ocr', 'status', '--data-dir', dataDir]);
    expect(res.code, res.stderr).toBe(0);
    const lines = res.stdout.split('\n');
    expect(lines[0]).toMatch(/^kind\s+pending\s+running\s+failed$/);
    expect(lines).toContainEqual(expect.stringMatching(/^blob\.collect\s+0\s+0\s+0$/));
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^${THUMBNAIL_JOB.replace('.', '\\.')}\\s+3\\s+0\\s+0$`)),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^ocr\.read\s+1\s+1\s+1$/));
    const failedImage = JSON.parse(failing.payload).imageId as string;
    expect(res.stdout).toMatch(
      new RegExp(
        `${failing.id}\\s+ocr\\.read\\s+image ${failedImage}\\s+1\\s+\\S+Z\\s+timed out after 60000 ms`,
      ),
    );

    const json = JSON.parse((await runCli(['ocr', 'status', '--json', '--data-dir', dataDir])).stdout);
    expect(json.failed).toMatchObject([
      { id: failing.id, kind: OCR_JOB, last_error: 'timed out after\n60000 ms' },
    ]);

    // Re-running replaces the failure with a new attempt; the running one is left alone.
    expect(await queue.rerunOcr([failedImage, JSON.parse(running.payload).imageId])).toEqual({
      queued: 1,
      unknown: [],
    });
    expect((await queue.status([])).failed).toEqual([]);
  });

  it('is an error on a folder that is no data dir', async () => {
    const res = await runCli(['ocr', 'status', '--data-dir', path.join(dataDir, 'nope')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/no Gazo data dir/);
  });

  it('gazo ocr rerun queues reads from the command line: ids or --all, never neither or both', async () => {
    const none = await runCli(['ocr', 'rerun', '--data-dir', dataDir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/either --all or the ids/);
    expect((await runCli(['ocr', 'rerun', '--all', ids[0] as string, '--data-dir', dataDir])).code).toBe(2);

    const unknown = await runCli(['ocr', 'rerun', 'f'.repeat(32), '--data-dir', dataDir]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`no image ${'f'.repeat(32)}`);

    // Clear the queue, then every image is queued once, as a rerun (it replaces their text).
    await rt.store.jobs.releaseLeases();
    for (const job of await rt.store.jobs.claim([OCR_JOB], 100, Date.now(), 600_000)) {
      await rt.store.jobs.complete(job.id, job.lease_owner);
    }
    const all = await runCli(['ocr', 'rerun', '--all', '--data-dir', dataDir]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toBe('queued 3 images for OCR\n');
    const queued = await rt.store.jobs.claim([OCR_JOB], 100, Date.now(), 600_000);
    expect(
      queued.map((j) => JSON.parse(j.payload)).sort((a, b) => a.imageId.localeCompare(b.imageId)),
    ).toEqual([...ids].sort().map((imageId) => ({ imageId, rerun: true })));
  });
});
