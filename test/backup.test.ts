import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originalKey, thumbnailKey } from '../src/blobs/blob-store.ts';
import { backupDataDir } from '../src/services/backup.service.ts';
import { openSqliteStore } from '../src/store/index.ts';
import { uploadOk } from './helpers/api.ts';
import { killChildren, runCli, spawnServer } from './helpers/child.ts';
import { blobPath, snapshotTree } from './helpers/data-dir.ts';
import { solidJpeg, solidPng } from './helpers/images.ts';
import { form, makeDataDir, startServer, type TestServer } from './helpers/server.ts';

const sourceOf = (server: TestServer) => ({
  store: server.rt.store,
  blobs: server.rt.blobs,
  thumbSize: server.config.thumbSize,
  dataDir: server.dataDir,
});

describe('backup of a live data dir', () => {
  let live: TestServer;
  let restored: TestServer | undefined;
  let dest: string;

  beforeAll(async () => {
    live = await startServer();
    dest = await makeDataDir();
  });
  afterAll(async () => {
    await restored?.close();
    await live.close();
    await fs.rm(dest, { recursive: true, force: true });
  });

  it('is a data dir that serves the same images, byte for byte', async () => {
    const { token } = await live.user('backed');
    const originals = [await solidPng(40, 30), await solidJpeg(20, 10)];
    const ids: string[] = [];
    for (const data of originals) {
      const res = await fetch(`${live.url}/api/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form({ imagedata: { data } }),
      });
      ids.push((await res.json()).image_id);
    }
    // Thumbnails are made in the background: wait for them, so that the backup has them to copy.
    await live.settle();

    const first = await backupDataDir(sourceOf(live), dest);
    expect(first).toMatchObject({ images: 2, blobsCopied: 4, missing: [] });
    // A second run copies only what is new.
    expect(await backupDataDir(sourceOf(live), dest)).toMatchObject({
      images: 2,
      blobsCopied: 0,
      missing: [],
    });

    // The marker says whose backup this is.
    const marker = JSON.parse(await fs.readFile(path.join(dest, 'gazo-backup.json'), 'utf8'));
    expect(marker).toMatchObject({
      data_dir_id: await live.rt.store.integrity.dataDirId(),
      source: live.dataDir,
      state: 'complete',
    });

    restored = await startServer({}, dest);
    const list = await fetch(`${restored.url}/api/images?access_token=${token}`);
    expect(list.headers.get('x-total-count')).toBe('2');
    for (const [i, id] of ids.entries()) {
      const type = i === 0 ? 'png' : 'jpg';
      const raw = await fetch(`${restored.url}/${id}.${type}`);
      expect(Buffer.from(await raw.arrayBuffer()).equals(originals[i] as Buffer)).toBe(true);
    }
  });

  it('leaves out an image deleted (and its files collected) after the snapshot was taken', async () => {
    const { token } = await live.user('racer');
    const kept = await uploadOk(live, token, await solidPng(12, 12, '#101010'));
    const gone = await uploadOk(live, token, await solidPng(13, 13, '#202020'));
    const goneRow = await live.rt.store.images.findByImageId(gone.image_id);
    const own = await makeDataDir();
    try {
      const source = sourceOf(live);
      const store = {
        ...source.store,
        backupTo: async (file: string) => {
          await source.store.backupTo(file);
          // The user deletes the image just after the snapshot, and its files are collected.
          await live.rt.store.images.delete(gone.image_id, goneRow?.user_id ?? 0);
          await live.rt.collector.collect(goneRow?.blob_key ?? '');
        },
      };
      const result = await backupDataDir({ ...source, store }, own);
      expect(result.missing).toEqual([]);
      const copy = await openSqliteStore(own);
      try {
        expect(await copy.images.findByImageId(gone.image_id)).toBeUndefined();
        expect(await copy.images.findByImageId(kept.image_id)).toBeDefined();
        expect(await copy.images.countAll()).toBe(result.images);
      } finally {
        await copy.close();
      }
    } finally {
      await fs.rm(own, { recursive: true, force: true });
    }
  });
  it('removes from the backup the files of images deleted since the last run', async () => {
    const { token, id } = await live.user('pruner');
    const image = await uploadOk(live, token, await solidPng(14, 14, '#303030'));
    const key = (await live.rt.store.images.findByImageId(image.image_id))?.blob_key ?? '';
    await live.settle();
    const own = await makeDataDir();
    try {
      await backupDataDir(sourceOf(live), own);
      await expect(fs.access(blobPath(own, originalKey(key)))).resolves.toBeUndefined();
      await live.rt.store.images.delete(image.image_id, id);
      await live.rt.collector.collect(key);
      const again = await backupDataDir(sourceOf(live), own);
      expect(again).toMatchObject({ blobsCopied: 0, blobsRemoved: 2, missing: [] });
      for (const k of [originalKey(key), thumbnailKey(key, 500)]) {
        await expect(fs.access(blobPath(own, k))).rejects.toThrow();
      }
    } finally {
      await fs.rm(own, { recursive: true, force: true });
    }
  });
});

/** `gazo backup` as users run it, beside a server on the data dir it backs up. */
describe('gazo backup writes only into its own backup', { timeout: 120_000 }, () => {
  let live: TestServer;
  const temp: string[] = [];
  const tempDir = async () => {
    const dir = await makeDataDir();
    temp.push(dir);
    return dir;
  };
  const backup = (dest: string, dataDir = live.dataDir) => runCli(['backup', dest, '--data-dir', dataDir]);

  beforeAll(async () => {
    live = await startServer();
    const { token } = await live.user('owner');
    await uploadOk(live, token, await solidPng(30, 20, '#336699'));
  });
  afterAll(async () => {
    await killChildren();
    await live.close();
    for (const dir of temp) await fs.rm(dir, { recursive: true, force: true });
  });

  it('refuses another data dir, even with a server running on it, and changes nothing there', async () => {
    const other = await tempDir();
    const store = await openSqliteStore(other);
    await store.users.create({ uid: 'u-other', name: 'other', email: null, passwordHash: null });
    await store.close();
    const server = await spawnServer(other);
    const before = await snapshotTree(other);

    const result = await backup(other);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `gazo: ${other} holds a Gazo data dir, not a backup of ${live.dataDir}; not writing over it\n`,
    );
    expect(result.stdout).toBe('');
    expect(await snapshotTree(other)).toEqual(before);
    const users = await runCli(['user', 'list', '--data-dir', other]);
    expect(users.stdout).toMatch(/\sother\s/);
    expect(server.proc.exitCode).toBeNull();
    await server.stop();
  });

  it('refuses a folder with other files in it, and touches none of them', async () => {
    const folder = await tempDir();
    await fs.writeFile(path.join(folder, 'thesis.txt'), 'the only copy');
    await fs.mkdir(path.join(folder, 'photos'));
    await fs.writeFile(path.join(folder, 'photos', 'cat.jpg'), 'meow');
    const before = await snapshotTree(folder);
    const result = await backup(folder);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `gazo: ${folder} is not empty and holds no Gazo backup (photos, thesis.txt); choose an empty or new folder\n`,
    );
    expect(await snapshotTree(folder)).toEqual(before);
  });

  it('refuses a backup of another data dir', async () => {
    const otherSource = await startServer();
    const dest = await tempDir();
    try {
      expect((await backup(dest, otherSource.dataDir)).code).toBe(0);
    } finally {
      await otherSource.close();
    }
    const before = await snapshotTree(dest);
    const result = await backup(dest);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^gazo: ${dest} holds a backup of another data dir \\(${otherSource.dataDir}, .*\\); choose another folder\\n$`,
      ),
    );
    expect(await snapshotTree(dest)).toEqual(before);
  });

  it('refuses its own earlier backup once that has been used as a data dir', async () => {
    const dest = await tempDir();
    expect((await backup(dest)).code).toBe(0);
    // Restored: someone served from the backup folder and created a user there.
    expect((await runCli(['user', 'create', 'restorer', '--data-dir', dest])).code).toBe(0);
    const before = await snapshotTree(dest);
    const result = await backup(dest);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`^gazo: ${dest}/gazo.sqlite has changed since the backup of .* was written`),
    );
    expect(await snapshotTree(dest)).toEqual(before);
  });

  it('writes into a missing or an empty folder, and again into its own backup', async () => {
    const empty = await tempDir();
    const missing = path.join(await tempDir(), 'new', 'backup');
    for (const dest of [empty, missing, empty]) {
      const result = await backup(dest);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^backed up 1 images \\(\\d+ files copied\\) to ${dest}\\n$`));
    }
    expect((await fs.stat(missing)).mode & 0o777).toBe(0o700);
  });

  it('exits non-zero naming the images whose files are missing, after copying the rest', async () => {
    const server = await startServer();
    try {
      const { token } = await server.user('careless');
      const intact = await uploadOk(server, token, await solidPng(21, 21, '#aa0000'));
      const lost = await uploadOk(server, token, await solidPng(22, 22, '#00aa00'));
      const thumbless = await uploadOk(server, token, await solidPng(23, 23, '#0000aa'));
      const keyOf = async (id: string) => (await server.rt.store.images.findByImageId(id))?.blob_key ?? '';
      await server.settle();
      // Deleted by hand, behind Gazo's back.
      await fs.rm(blobPath(server.dataDir, originalKey(await keyOf(lost.image_id))));
      await fs.rm(blobPath(server.dataDir, thumbnailKey(await keyOf(thumbless.image_id), 500)));

      const dest = await tempDir();
      const result = await backup(dest, server.dataDir);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^backed up 3 images \(4 files copied\) to /);
      expect(result.stderr).toContain(
        `missing in ${server.dataDir}: original of image ${lost.image_id} (orig/${await keyOf(lost.image_id)})\n`,
      );
      expect(result.stderr).toContain(
        `missing in ${server.dataDir}: thumbnail of image ${thumbless.image_id} (thumb/500/${await keyOf(thumbless.image_id)})\n`,
      );
      expect(result.stderr).toMatch(
        /gazo: the backup lacks 2 files that images refer to: run gazo fsck --data-dir .*\n$/,
      );
      expect(result.stderr).not.toContain(intact.image_id);
      await expect(
        fs.access(blobPath(dest, originalKey(await keyOf(intact.image_id)))),
      ).resolves.toBeUndefined();
    } finally {
      await server.close();
    }
  });
});
