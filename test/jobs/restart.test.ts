import fs from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openRuntime } from '../../src/runtime.ts';
import { THUMBNAIL_JOB } from '../../src/store/images.repository.ts';
import { SQLITE_FILE } from '../../src/store/index.ts';
import { killChildren, spawnServer } from '../helpers/child.ts';
import { screenshotPng } from '../helpers/images.ts';
import { makeDataDir } from '../helpers/server.ts';

const IMAGES = 40;

interface JobState {
  id: number;
  lease_owner: string | null;
  attempts: number;
}

/** The queue as another process sees it. */
function jobs(dataDir: string): JobState[] {
  const db = new Database(path.join(dataDir, SQLITE_FILE), { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return db
      .prepare('SELECT id, lease_owner, attempts FROM jobs WHERE kind = ? ORDER BY id')
      .all(THUMBNAIL_JOB) as JobState[];
  } finally {
    db.close();
  }
}

async function thumbnails(dataDir: string): Promise<number> {
  const root = path.join(dataDir, 'blobs', 'thumb');
  const entries = await fs.readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).length;
}

/**
 * A real `gazo serve` works through a queue of thumbnail jobs and is SIGKILLed while some are
 * leased (running). Restarted on the same data dir, it runs them again and the queue empties:
 * no job is lost, and none stays stuck behind the dead process's lease.
 */
describe('jobs across a crash', { timeout: 120_000 }, () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await killChildren();
    await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
  });

  it('a job interrupted by killing the server completes after restart', async () => {
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    // Queue the work without running it: uploads through the service, no worker started.
    const rt = await openRuntime(loadConfig({ dataDir }, {}));
    try {
      const user = await rt.accounts.createUser('crash');
      for (let seed = 1; seed <= IMAGES; seed++) {
        await rt.uploads.upload(user.id, await screenshotPng(1600, 1000, seed));
      }
    } finally {
      await rt.close();
    }
    expect(jobs(dataDir)).toHaveLength(IMAGES);

    let interrupted: JobState[] = [];
    for (let attempt = 0; attempt < 5 && interrupted.length === 0; attempt++) {
      const server = await spawnServer(dataDir);
      // Kill it as soon as it holds a lease (a job is running), while work remains.
      const deadline = Date.now() + 30_000;
      while (!jobs(dataDir).some((j) => j.lease_owner !== null)) {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 2));
      }
      await server.stop('SIGKILL');
      interrupted = jobs(dataDir).filter((j) => j.lease_owner !== null);
    }
    // The dead process left leased jobs behind, their thumbnails not all made.
    expect(interrupted.length).toBeGreaterThan(0);
    const left = jobs(dataDir).length;
    expect(left).toBeGreaterThan(0);
    expect(await thumbnails(dataDir)).toBeLessThan(IMAGES);

    const restarted = await spawnServer(dataDir);
    const deadline = Date.now() + 60_000;
    while (jobs(dataDir).length > 0) {
      expect(Date.now(), `jobs left: ${JSON.stringify(jobs(dataDir))}`).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await thumbnails(dataDir)).toBe(IMAGES);
    // Nothing failed on the way: the queue is empty, not given up on.
    await restarted.stop('SIGKILL');
  });
});
