import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireServeLock } from '../src/cli/serve-lock.ts';
import { openSqliteStore } from '../src/store/index.ts';
import { makeDataDir } from './helpers/server.ts';

describe('one gazo serve per data dir', () => {
  it('refuses while another live process holds the data dir, takes over from a dead one', async () => {
    const dir = await makeDataDir();
    const pidFile = path.join(dir, 'serve.pid');
    // A live process that is not us: our parent.
    await fs.writeFile(pidFile, `${process.ppid}\n`);
    await expect(acquireServeLock(dir)).rejects.toThrow(/another gazo serve/);

    // A process that has exited: its pid file is stale.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await fs.writeFile(pidFile, `${dead}\n`);
    const release = await acquireServeLock(dir);
    expect((await fs.readFile(pidFile, 'utf8')).trim()).toBe(String(process.pid));
    await release();
    await expect(fs.access(pidFile)).rejects.toThrow();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('releases the leases a killed server held on jobs, so they run at once after restart', async () => {
    const dir = await makeDataDir();
    const store = await openSqliteStore(dir);
    try {
      await store.jobs.enqueue({ kind: 'blob.collect', payload: { blobKey: 'x' } });
      expect(await store.jobs.claim(['blob.collect'], 1, Date.now(), 300_000)).toHaveLength(1);
      expect(await store.jobs.claim(['blob.collect'], 1, Date.now(), 300_000)).toHaveLength(0);
      await store.jobs.releaseLeases();
      expect(await store.jobs.claim(['blob.collect'], 1, Date.now(), 300_000)).toHaveLength(1);
    } finally {
      await store.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
