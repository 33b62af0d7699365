import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originalKey, thumbnailKey } from '../src/blobs/blob-store.ts';
import { AccountsService } from '../src/services/accounts.service.ts';
import { type ChildServer, killChildren, runCli, spawnServer } from './helpers/child.ts';
import { blobPath, snapshotTree } from './helpers/data-dir.ts';
import { solidJpeg, solidPng, solidWebp } from './helpers/images.ts';
import { serversUsePostgres } from './helpers/postgres.ts';
import { form, makeDataDir, openDataDirStore } from './helpers/server.ts';

/** `gazo fsck` as users run it: its own process, beside a `gazo serve` child on the same data dir. */
describe('gazo fsck', { timeout: 120_000 }, () => {
  let dataDir: string;
  let server: ChildServer;
  let token: string;
  const fsck = (...args: string[]) => runCli(['fsck', '--data-dir', dataDir, ...args]);
  /** image id → blob key */
  const images = new Map<string, string>();

  const upload = async (data: Buffer) => {
    const res = await fetch(`${server.url}/api/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: form({ imagedata: { data } }),
    });
    expect(res.status).toBe(200);
    const { image_id } = (await res.json()) as { image_id: string };
    const store = await openDataDirStore(dataDir);
    try {
      images.set(image_id, (await store.images.findByImageId(image_id))?.blob_key ?? '');
    } finally {
      await store.close();
    }
    return image_id;
  };

  beforeAll(async () => {
    dataDir = await makeDataDir();
    const store = await openDataDirStore(dataDir);
    const accounts = new AccountsService(store);
    await accounts.createUser('checker');
    ({ token } = await accounts.createToken('checker'));
    await store.close();
    server = await spawnServer(dataDir);
  });
  afterAll(async () => {
    await killChildren();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('finds a sound data dir clean, with a server running on it', async () => {
    for (const [i, make] of [solidPng, solidJpeg, solidWebp, solidPng, solidPng].entries()) {
      await upload(await make(20 + i, 10 + i, `#${String(i).repeat(6)}`));
    }
    const result = await fsck();
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('fsck: 5 images and 10 files checked, no problems\n');
    expect(result.code).toBe(0);
  });

  describe('on a damaged data dir', () => {
    let ids: string[];
    const key = (i: number) => images.get(ids[i] as string) as string;
    const orphan = randomBytes(32).toString('hex');
    const pending = randomBytes(32).toString('hex');
    let cutTo = 0;
    let swappedHash = '';

    beforeAll(async () => {
      ids = [...images.keys()];
      // 0: original deleted; 1: original cut short; 2: original overwritten with as many other bytes;
      // 3: thumbnail deleted; 4: thumbnail overwritten with garbage.
      await fs.rm(blobPath(dataDir, originalKey(key(0))));
      const cut = blobPath(dataDir, originalKey(key(1)));
      cutTo = (await fs.stat(cut)).size - 10;
      await fs.truncate(cut, cutTo);
      const swapped = blobPath(dataDir, originalKey(key(2)));
      const other = randomBytes((await fs.stat(swapped)).size);
      swappedHash = createHash('sha256').update(other).digest('hex');
      await fs.writeFile(swapped, other);
      await fs.rm(blobPath(dataDir, thumbnailKey(key(3), 500)));
      await fs.writeFile(blobPath(dataDir, thumbnailKey(key(4), 500)), 'not an image');
      // Files no row refers to, and one that an upload in flight has registered: not an orphan.
      for (const k of [originalKey(orphan), thumbnailKey(orphan, 500), originalKey(pending)]) {
        await fs.mkdir(path.dirname(blobPath(dataDir, k)), { recursive: true });
        await fs.writeFile(blobPath(dataDir, k), 'bytes');
      }
      const store = await openDataDirStore(dataDir);
      await store.blobLedger.addPending(pending, Date.now());
      await store.close();
    });

    const problems = () => [
      `missing original: ${ids[0]} orig/${key(0)}`,
      `corrupt original: ${ids[1]} orig/${key(1)} (${cutTo} bytes, the row says ${cutTo + 10})`,
      `corrupt original: ${ids[2]} orig/${key(2)} (its SHA-256 is ${swappedHash.slice(0, 12)}…)`,
      `missing thumbnail: ${ids[3]} thumb/500/${key(3)}`,
      `corrupt thumbnail: ${ids[4]} thumb/500/${key(4)} (it does not decode)`,
      `unreferenced file: orig/${orphan}`,
      `unreferenced file: thumb/500/${orphan}`,
    ];

    it('prints each problem with its image id, exits 1, and changes nothing', async () => {
      const before = await snapshotTree(dataDir);
      const result = await fsck();
      expect(result.stderr).toBe('');
      expect(result.code).toBe(1);
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines.pop()).toBe('fsck: 5 images and 11 files checked, 7 problems');
      expect(lines.sort()).toEqual(problems().sort());
      const after = await snapshotTree(dataDir);
      // The server may have written to its database meanwhile; the files are what fsck could touch.
      const files = (tree: Record<string, string>) =>
        Object.fromEntries(Object.entries(tree).filter(([name]) => name.startsWith('blobs')));
      expect(files(after)).toEqual(files(before));
    });

    it('--repair re-makes thumbnails and removes unreferenced files, never a row', async () => {
      const result = await fsck('--repair');
      expect(result.stderr).toBe('');
      // The damaged originals cannot be repaired: still a failure.
      expect(result.code).toBe(1);
      const lines = result.stdout.trimEnd().split('\n');
      expect(lines.pop()).toBe('fsck: 5 images and 11 files checked, 7 problems, 4 repaired');
      const [lost, cut, swapped, missingThumb, badThumb, orphanOrig, orphanThumb] = problems();
      expect(lines.sort()).toEqual(
        [
          lost,
          cut,
          swapped,
          `${missingThumb} (re-made)`,
          `${badThumb} (re-made)`,
          `${orphanOrig} (removed)`,
          `${orphanThumb} (removed)`,
        ].sort(),
      );

      for (const i of [3, 4]) {
        const thumb = await fetch(`${server.url}/thumb/500/${ids[i]}.png`);
        expect(thumb.status).toBe(200);
        const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
        expect([meta.width, meta.height]).toEqual([20 + i, 10 + i]);
      }
      await expect(fs.access(blobPath(dataDir, originalKey(orphan)))).rejects.toThrow();
      await expect(fs.access(blobPath(dataDir, originalKey(pending)))).resolves.toBeUndefined();
      const list = await fetch(`${server.url}/api/images`, { headers: { authorization: `Bearer ${token}` } });
      expect(list.headers.get('x-total-count')).toBe('5');

      const again = await fsck();
      expect(again.code).toBe(1);
      expect(again.stdout).toMatch(/\nfsck: 5 images and 10 files checked, 3 problems\n$/);
    });
  });

  it('refuses a data dir that does not exist, creating nothing', async () => {
    const nowhere = path.join(dataDir, 'no-such-dir');
    const result = await runCli(['fsck', '--data-dir', nowhere]);
    expect(result.code).toBe(1);
    const lacks = serversUsePostgres() ? 'blobs folder' : 'gazo.sqlite';
    expect(result.stderr).toBe(`gazo: no Gazo data dir at ${nowhere} (it has no ${lacks})\n`);
    await expect(fs.access(nowhere)).rejects.toThrow();
  });
});
