import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { assertBlobKey, type BlobStore } from './blob-store.ts';
import { DiskFullError, isDiskFull } from './staged-file.ts';

/**
 * Blobs as files under one folder: `orig/ab/<hash>`, `thumb/500/ab/<hash>`. A write goes to
 * `tmp/` (where uploads are also staged), is fsynced, renamed into place and its folder
 * fsynced, so a file either exists whole or not at all.
 */
export class LocalBlobStore implements BlobStore {
  private readonly tmpDir: string;
  /** Folders known to exist: a put is on the upload path, and mkdir is a system call each time. */
  private readonly madeDirs = new Set<string>();

  constructor(private readonly root: string) {
    this.tmpDir = path.join(root, 'tmp');
  }

  private pathOf(key: string): string {
    assertBlobKey(key);
    const slash = key.lastIndexOf('/');
    const hash = key.slice(slash + 1);
    return path.join(this.root, key.slice(0, slash), hash.slice(0, 2), hash);
  }

  async put(key: string, data: Buffer): Promise<void> {
    const tmp = await this.stagingPath();
    try {
      await fs.writeFile(tmp, data, { flag: 'wx', mode: 0o600 });
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw isDiskFull(err) ? new DiskFullError() : err;
    }
    await this.putFile(key, tmp);
  }

  async putFile(key: string, file: string): Promise<void> {
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    try {
      const handle = await fs.open(file, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await this.ensureDir(dir);
      await fs.rename(file, target);
    } catch (err) {
      await fs.rm(file, { force: true });
      throw isDiskFull(err) ? new DiskFullError() : err;
    }
    await syncDir(dir);
  }

  async stagingPath(): Promise<string> {
    await this.ensureDir(this.tmpDir);
    return path.join(this.tmpDir, `${randomBytes(8).toString('hex')}.part`);
  }

  async freeBytes(): Promise<number> {
    const stats = await fs.statfs(this.root).catch(async (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await this.ensureDir(this.root);
      return fs.statfs(this.root);
    });
    return stats.bavail * stats.bsize;
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    this.madeDirs.add(dir);
  }

  async read(key: string): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async localFile(key: string): Promise<string | undefined> {
    return (await this.exists(key)) ? this.pathOf(key) : undefined;
  }

  async exists(key: string): Promise<boolean> {
    try {
      await fs.access(this.pathOf(key));
      return true;
    } catch {
      return false;
    }
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.pathOf(key), { force: true });
  }

  async *list(): AsyncIterable<string> {
    for (const top of await readdirOrEmpty(this.root)) {
      if (top === 'orig') yield* this.listUnder('orig');
      if (top === 'thumb') {
        for (const size of await readdirOrEmpty(path.join(this.root, 'thumb'))) {
          yield* this.listUnder(`thumb/${size}`);
        }
      }
    }
  }

  private async *listUnder(prefix: string): AsyncIterable<string> {
    const base = path.join(this.root, prefix);
    for (const shard of await readdirOrEmpty(base)) {
      for (const name of await readdirOrEmpty(path.join(base, shard))) yield `${prefix}/${name}`;
    }
  }

  async sweepIncomplete(): Promise<void> {
    this.madeDirs.delete(this.tmpDir);
    await fs.rm(this.tmpDir, { recursive: true, force: true });
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
