import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { originalKey } from '../../src/blobs/blob-store.ts';
import { PENDING_UPLOAD_MAX_AGE_MS, recoverAfterCrash } from '../../src/cli/serve.ts';
import { loadConfig } from '../../src/config.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { testDatabase } from '../helpers/postgres.ts';
import { imageRow } from '../helpers/rows.ts';
import { makeDataDir } from '../helpers/server.ts';

/**
 * On PostgreSQL any process may start while others run: a starting server must reclaim only
 * what is provably dead, never a live upload's bytes or a running job's lease.
 */
describe('start-up recovery on PostgreSQL', () => {
  let dataDir: string;
  let database: { url: string; drop(): Promise<void> };
  const runtimes: Runtime[] = [];
  const open = async () => {
    const rt = await openRuntime(loadConfig({ dataDir, database: database.url, ocr: false }, {}));
    runtimes.push(rt);
    return rt;
  };

  beforeEach(async () => {
    dataDir = await makeDataDir();
    database = await testDatabase();
  });
  afterEach(async () => {
    for (const rt of runtimes.splice(0)) await rt.close();
    await database.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('leaves a running process’s upload and lease alone, and sweeps an upload older than the bound', async () => {
    const running = await open();
    const user = await running.accounts.createUser('alice');
    const [live, dead] = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];
    const bytes = Buffer.from('not really a png');
    const livePending = await running.store.blobLedger.addPending(live, Date.now());
    await running.blobs.put(originalKey(live), bytes);
    await running.store.blobLedger.addPending(dead, Date.now() - PENDING_UPLOAD_MAX_AGE_MS - 1000);
    await running.blobs.put(originalKey(dead), bytes);
    await running.store.jobs.enqueue({ kind: 'test.work', payload: {} });
    const [job] = await running.store.jobs.claim(['test.work'], 1, Date.now(), 60_000);

    const starting = await open();
    await recoverAfterCrash(starting, Date.now());

    expect(await starting.store.blobLedger.pendingKeys()).toEqual([live]);
    expect(await starting.blobs.exists(originalKey(live))).toBe(true);
    expect(await starting.blobs.exists(originalKey(dead))).toBe(false);
    // The running job's lease holds: nobody else gets it, and its holder completes it.
    expect(await starting.store.jobs.claim(['test.work'], 1, Date.now(), 60_000)).toEqual([]);
    expect(await running.store.jobs.complete(job?.id ?? 0, job?.lease_owner ?? '')).toBe(true);
    // And the upload that was in flight commits as if nothing happened.
    const row = imageRow(user.id, Date.now(), { blob_key: live });
    await running.store.images.insert(row, livePending);
    expect((await starting.store.images.findByImageId(row.image_id))?.blob_key).toBe(live);
  });
});
