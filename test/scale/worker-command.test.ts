import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanEnv,
  freePort,
  GAZO_BIN,
  killChildren,
  REPO_ROOT,
  runCli,
  spawnServer,
} from '../helpers/child.ts';
import { solidPng } from '../helpers/images.ts';
import { form, makeDataDir, openDataDirStore } from '../helpers/server.ts';

/**
 * `gazo serve --no-jobs` and `gazo worker` on the embedded store (SQLite), as processes: the
 * server queues work and does none; the worker does it; and one process holds a data dir.
 */
describe('gazo serve --no-jobs and gazo worker on SQLite', { timeout: 90_000 }, () => {
  let dataDir: string;
  let token: string;

  beforeAll(async () => {
    dataDir = await makeDataDir();
    expect((await runCli(['user', 'create', 'w', '--data-dir', dataDir])).code).toBe(0);
    token = (await runCli(['token', 'create', 'w', '--data-dir', dataDir])).stdout.trim();
  });
  afterAll(async () => {
    await killChildren();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  const pendingJobs = async () => {
    const store = await openDataDirStore(dataDir);
    try {
      return await store.jobs.countPending();
    } finally {
      await store.close();
    }
  };

  it('queues the thumbnail without making it; a worker refused beside the server; the worker makes it later', async () => {
    const port = await freePort();
    const server = await spawnServer(dataDir, {
      port,
      args: ['serve', '--no-jobs', '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir],
    });
    expect(server.output().stdout).toContain('no background jobs');
    const res = await fetch(`${server.url}/api/upload?access_token=${token}`, {
      method: 'POST',
      body: form({ imagedata: { data: await solidPng(80, 60, '#335577') } }),
    });
    expect(res.status).toBe(200);
    // Well past the worker's poll interval: nothing here runs the job.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await pendingJobs()).toBe(1);

    // One process per SQLite data dir: the worker is refused while the server runs.
    const refused = await runCli(['worker', '--data-dir', dataDir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`another gazo serve (pid ${server.proc.pid}) is using ${dataDir}`);

    await server.stop('SIGTERM');
    const worker = spawn(process.execPath, [GAZO_BIN, 'worker', '--data-dir', dataDir], {
      cwd: REPO_ROOT,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    worker.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    const deadline = Date.now() + 30_000;
    while (!out.includes('Gazo worker running') || (await pendingJobs()) > 0) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(out).toContain('image.thumbnail');
    // And the other way round: no server while the worker holds the data dir.
    const serve = await runCli(['serve', '--port', String(await freePort()), '--data-dir', dataDir]);
    expect(serve.code).toBe(1);
    expect(serve.stderr).toContain(`another gazo worker (pid ${worker.pid}) is using ${dataDir}`);
    worker.kill('SIGTERM');
  });
});
