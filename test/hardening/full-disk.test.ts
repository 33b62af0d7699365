import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openRuntime } from '../../src/runtime.ts';
import { type ChildServer, killChildren, spawnServer } from '../helpers/child.ts';
import { noisePng } from '../helpers/images.ts';
import { serverDatabaseFor } from '../helpers/postgres.ts';
import { form, makeDataDir } from '../helpers/server.ts';

/**
 * A data dir on a disk that fills up, for real: a 48 MB tmpfs (mounting needs root, which CI
 * has; elsewhere the fault-injecting blob store in upload.service.test.ts covers the same
 * paths). Uploads must answer 507 and leave nothing behind; deletes must keep working.
 */
const isRoot = process.getuid?.() === 0;
const MB = 1024 * 1024;

describe.runIf(isRoot)('a full disk', () => {
  let mount: string;
  let dataDir: string;
  let server: ChildServer;
  let token: string;

  beforeAll(async () => {
    mount = await makeDataDir();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m,mode=0700', 'tmpfs', mount]);
    dataDir = path.join(mount, 'data');
    const rt = await openRuntime(loadConfig({ dataDir, database: await serverDatabaseFor(dataDir) }, {}));
    await rt.accounts.createUser('disk');
    token = (await rt.accounts.createToken('disk')).token;
    await rt.close();
    server = await spawnServer(dataDir, { env: { GAZO_DISK_RESERVE_BYTES: String(4 * MB) } });
  }, 60_000);

  afterAll(async () => {
    await killChildren();
    if (mount) {
      execFileSync('umount', ['-l', mount]);
      await fs.rm(mount, { recursive: true, force: true });
    }
  });

  const upload = async (bytes: Buffer) => {
    const res = await fetch(`${server.url}/api/upload?access_token=${token}`, {
      method: 'POST',
      body: form({ imagedata: { data: bytes } }),
    });
    return { status: res.status, body: (await res.json()) as { image_id?: string; message?: string } };
  };
  const stagedFiles = async () =>
    (await fs.readdir(path.join(dataDir, 'blobs', 'tmp')).catch(() => [])).sort();
  const blobFiles = async () => {
    const root = path.join(dataDir, 'blobs');
    const entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile() && !e.parentPath.endsWith('tmp')).length;
  };
  /** Waits (10 s at most) for the background jobs to bring the blob files to `count`. */
  const filesSettleAt = async (count: number) => {
    const deadline = Date.now() + 10_000;
    while ((await blobFiles()) !== count && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
  };
  const imageIds = async () => {
    const res = await fetch(`${server.url}/api/images?per_page=100&access_token=${token}`);
    return ((await res.json()) as Array<{ image_id: string }>).map((i) => i.image_id);
  };

  it('answers 507 once the disk is full, keeps nothing of the refused upload, and deletes still work', async () => {
    const stored: string[] = [];
    let refused: { status: number; body: { message?: string } } | undefined;
    for (let seed = 1; seed <= 30 && !refused; seed++) {
      // About 3 MB each: random pixels do not compress.
      const answer = await upload(await noisePng(1000, 1000, seed));
      if (answer.status === 200) stored.push(answer.body.image_id as string);
      else refused = answer;
    }
    expect(refused?.status).toBe(507);
    expect(refused?.body.message).toMatch(/storage/i);
    expect(stored.length).toBeGreaterThan(3);
    // Thumbnails are made in the background (after the uploads, by a few seconds at most), and
    // are written through tmp/ too: once they are all there, nothing may be left in tmp/.
    await filesSettleAt(stored.length * 2);
    expect(await stagedFiles()).toEqual([]);
    expect(await blobFiles()).toBe(stored.length * 2);

    // Now really full: something else takes every byte that is left.
    const filler = path.join(mount, 'filler');
    const handle = await fs.open(filler, 'w');
    try {
      for (;;) await handle.write(Buffer.alloc(256 * 1024));
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      await handle.close();
    }
    const onFullDisk = await upload(await noisePng(300, 300, 99));
    expect(onFullDisk.status).toBe(507);
    expect(await stagedFiles()).toEqual([]);

    const victim = stored[0] as string;
    const deleted = await fetch(`${server.url}/api/images/${victim}?access_token=${token}`, {
      method: 'DELETE',
    });
    expect(deleted.status, server.output().stdout.slice(-3000)).toBe(200);
    expect(await imageIds()).not.toContain(victim);

    // With room again, the deleted image's bytes are collected and uploads work.
    await fs.rm(filler);
    await filesSettleAt((stored.length - 1) * 2);
    expect(await blobFiles()).toBe((stored.length - 1) * 2);
    expect((await upload(await noisePng(300, 300, 100))).status).toBe(200);
  }, 120_000);
});
