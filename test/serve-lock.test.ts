import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireServeLock } from '../src/cli/serve-lock.ts';
import { openSqliteStore } from '../src/store/index.ts';
import { freePort, killChildren, runCli, spawnServer } from './helpers/child.ts';
import { makeDataDir } from './helpers/server.ts';

describe('one gazo serve per data dir', { timeout: 60_000 }, () => {
  afterAll(killChildren);

  it('refuses while a gazo serve holds the data dir, naming its pid', async () => {
    const dir = await makeDataDir();
    const server = await spawnServer(dir);
    try {
      const pid = Number((await fs.readFile(path.join(dir, 'serve.pid'), 'utf8')).trim());
      expect(pid).toBe(server.proc.pid);
      await expect(acquireServeLock(dir)).rejects.toThrow(
        new RegExp(`another gazo serve \\(pid ${pid}\\) is using ${dir}; stop it first`),
      );
      // The lock is untouched, and so is the server.
      expect((await fs.readFile(path.join(dir, 'serve.pid'), 'utf8')).trim()).toBe(String(pid));
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      await server.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('takes over a pid file whose process has exited, or whose pid now belongs to something else', async () => {
    const dir = await makeDataDir();
    const pidFile = path.join(dir, 'serve.pid');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    // A live process that is not a gazo serve: our parent (the test runner), and a `sleep`.
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      for (const pid of [dead, process.ppid, sleeper.pid]) {
        await fs.writeFile(pidFile, `${pid}\n`);
        const release = await acquireServeLock(dir);
        expect((await fs.readFile(pidFile, 'utf8')).trim()).toBe(String(process.pid));
        await release();
        await expect(fs.access(pidFile)).rejects.toThrow();
      }
    } finally {
      sleeper.kill();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('a second gazo serve on the same data dir exits non-zero with a hint, no stack trace', async () => {
    const dir = await makeDataDir();
    const first = await spawnServer(dir);
    try {
      const second = await runCli(['serve', '--port', String(await freePort()), '--data-dir', dir]);
      expect(second.code).toBe(1);
      expect(second.stderr).toBe(
        `gazo: another gazo serve (pid ${first.proc.pid}) is using ${dir}; stop it first, or give this one its own --data-dir\n`,
      );
    } finally {
      await first.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
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
