import fs from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore, SQLITE_FILE } from '../src/store/index.ts';
import { freePort, killChildren, runCli, spawnServer } from './helpers/child.ts';
import { imageRow } from './helpers/rows.ts';
import { makeDataDir } from './helpers/server.ts';

/**
 * A data dir whose database has a damaged page in the images table: the pages that opening,
 * migrating and the start-up sweep read are intact, so nothing but a check notices.
 */
async function corruptDataDir(): Promise<string> {
  const dir = await makeDataDir();
  const store = await openSqliteStore(dir);
  const user = await store.users.create({ uid: 'u1', name: 'victim', email: null, passwordHash: null });
  for (let i = 0; i < 50; i++) {
    const pendingId = await store.blobLedger.addPending('x', 0);
    await store.images.insert(
      imageRow(user.id, 1_700_000_000_000 + i, { title: 'x'.repeat(200) }),
      pendingId,
    );
  }
  await store.close();

  const file = path.join(dir, SQLITE_FILE);
  const db = new Database(file, { readonly: true });
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const { rootpage } = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'images'").get() as {
    rootpage: number;
  };
  db.close();
  // Garbage over the table's root page, past its header: cell pointers and cells.
  const handle = await fs.open(file, 'r+');
  try {
    await handle.write(Buffer.alloc(pageSize - 16, 0xa5), 0, pageSize - 16, (rootpage - 1) * pageSize + 8);
  } finally {
    await handle.close();
  }
  return dir;
}

describe('a corrupt database', { timeout: 60_000 }, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await corruptDataDir();
  });
  afterAll(async () => {
    await killChildren();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('gazo serve refuses to serve it: a clear message, exit 1, no stack trace', async () => {
    const port = await freePort();
    // Without the check it would serve (and never exit): give up on it after a while.
    const giveUp = setTimeout(() => void killChildren(), 20_000);
    const serve = await runCli(['serve', '--port', String(port), '--data-dir', dir]);
    clearTimeout(giveUp);
    expect(serve.code).toBe(1);
    expect(serve.stdout).toBe('');
    const [first, ...rest] = serve.stderr.trimEnd().split('\n');
    expect(first).toBe(
      `gazo: the database ${path.join(dir, SQLITE_FILE)} is corrupt; not serving it. Run gazo fsck --data-dir ${dir} to see the damage, and restore from a backup. SQLite says:`,
    );
    expect(rest.length).toBeGreaterThan(0);
    expect(serve.stderr).not.toMatch(/\n\s+at /);
    // And it did not start listening, nor keep its lock.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    await expect(fs.access(path.join(dir, 'serve.pid'))).rejects.toThrow();
  });

  it('gazo fsck reports it and exits 1', async () => {
    const fsck = await runCli(['fsck', '--data-dir', dir]);
    expect(fsck.code).toBe(1);
    expect(fsck.stderr).toBe('');
    const lines = fsck.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^database: /);
    expect(lines.at(-1)).toMatch(/^fsck: .*problems/);
  });

  it('a sound database still serves', async () => {
    const sound = await makeDataDir();
    try {
      const server = await spawnServer(sound);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      await server.stop();
    } finally {
      await fs.rm(sound, { recursive: true, force: true });
    }
  });
});
