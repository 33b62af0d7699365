import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AccountsService } from '../src/services/accounts.service.ts';
import { openSqliteStore } from '../src/store/index.ts';
import { killChildren, runCli, spawnServer } from './helpers/child.ts';
import { solidPng } from './helpers/images.ts';
import { form, makeDataDir } from './helpers/server.ts';

const modeOf = async (file: string) => (await fs.stat(file)).mode & 0o777;

/** Everything under `dir` that users other than the owner could read or enter. */
async function openToOthers(dir: string): Promise<string[]> {
  const open: string[] = [];
  for (const entry of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    // A file is out of reach when any folder above it (inside `dir`) is closed to others.
    let closed = false;
    for (let d = path.dirname(file); d.startsWith(dir) && d !== dir; d = path.dirname(d)) {
      if (((await modeOf(d)) & 0o077) === 0) closed = true;
    }
    if (!closed && ((await modeOf(file)) & 0o077) !== 0) open.push(path.relative(dir, file));
  }
  return open;
}

describe('permissions of what Gazo writes', { timeout: 60_000 }, () => {
  const temp: string[] = [];
  afterAll(async () => {
    await killChildren();
    for (const dir of temp) await fs.rm(dir, { recursive: true, force: true });
  });

  it('a data dir gazo serve creates is 0700, its database 0600, and no image is readable by others', async () => {
    const parent = await makeDataDir();
    temp.push(parent);
    const dataDir = path.join(parent, 'new', 'data');
    const server = await spawnServer(dataDir);
    const store = await openSqliteStore(dataDir);
    const { token } = await (async () => {
      const accounts = new AccountsService(store);
      await accounts.createUser('private');
      return accounts.createToken('private');
    })();
    await store.close();
    const res = await fetch(`${server.url}/api/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form({ imagedata: { data: await solidPng(10, 10) } }),
    });
    expect(res.status).toBe(200);

    expect(await modeOf(dataDir)).toBe(0o700);
    for (const file of ['gazo.sqlite', 'gazo.sqlite-wal', 'gazo.sqlite-shm', 'serve.pid']) {
      expect([file, await modeOf(path.join(dataDir, file))]).toEqual([file, 0o600]);
    }
    expect(await modeOf(path.join(dataDir, 'blobs'))).toBe(0o700);
    // Even with the data dir opened up by hand, the images stay out of others' reach.
    await fs.chmod(dataDir, 0o755);
    expect(await openToOthers(dataDir)).toEqual([]);
    await server.stop();
  });

  it("tightens an existing database to 0600, and leaves the mode of the user's own folder alone", async () => {
    const dataDir = await makeDataDir();
    temp.push(dataDir);
    await fs.chmod(dataDir, 0o750);
    expect((await runCli(['user', 'create', 'someone', '--data-dir', dataDir])).code).toBe(0);
    // As an older Gazo (or a copy made with a loose umask) left it.
    await fs.chmod(path.join(dataDir, 'gazo.sqlite'), 0o644);
    expect((await runCli(['user', 'list', '--data-dir', dataDir])).code).toBe(0);
    expect(await modeOf(path.join(dataDir, 'gazo.sqlite'))).toBe(0o600);
    expect(await modeOf(dataDir)).toBe(0o750);
  });
});
