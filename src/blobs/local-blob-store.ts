import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { syncPath } from '../fsync.ts';
import { assertBlobKey, type BlobStat, type BlobStore, type ByteRange } from './blob-store.ts';
import { DiskFullError, discardFile, isDiskFull, writeStagedFile } from './staged-file.ts';
import { StagingDir } from './staging-dir.ts';

/**
 * Blobs as files under one folder: `orig/ab/<hash>`, `thumb/500/ab/<hash>`. A write goes to
 * `tmp/` (where uploads are also staged), is fsynced, renamed into place and its folder
 * fsynced, so a file either exists whole or not at all.
 */
export class LocalBlobStore implements BlobStore {
  private readonly staging: StagingDir;
  /** Folders known to exist: a put is on the upload path, and mkdir is a system call each time. */
  private readonly madeDirs = new Set<string>();

  constructor(private readonly root: string) {
    this.staging = new StagingDir(path.join(root, 'tmp'));
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
      // One open for the write and its fsync (thumbnails come this way, one a job).
      const handle = await fs.open(tmp, 'wx', 0o600);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (err) {
      return abandon(tmp, err);
    }
    await this.moveIntoPlace(key, tmp);
  }

  async putStream(key: string, source: Readable): Promise<void> {
    // writeStagedFile removes its partial file when the stream fails.
    const staged = await writeStagedFile(source, await this.stagingPath(), Number.MAX_SAFE_INTEGER);
    await this.putFile(key, staged.path);
  }

  readonly stagedFilesBecomeBlobs = true;

  async putFile(key: string, file: string, options: { synced?: boolean } = {}): Promise<void> {
    if (options.synced) return this.moveIntoPlace(key, file);
    try {
      await syncPath(file);
    } catch (err) {
      return abandon(file, err);
    }
    await this.moveIntoPlace(key, file);
  }

  /** Renames a file already fsynced to its key's place, and fsyncs the folder: whole or not at all. */
  private async moveIntoPlace(key: string, file: string): Promise<void> {
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    try {
      await this.ensureDir(dir);
      await fs.rename(file, target);
    } catch (err) {
      return abandon(file, err);
    }
    await syncPath(dir);
  }

  stagingPath(): Promise<string> {
    return this.staging.path();
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
    return fs.readFile(this.pathOf(key)).catch(undefinedIfMissing);
  }

  async stream(key: string, range?: ByteRange): Promise<Readable | undefined> {
    // Opened here, not lazily by the stream, so that a missing file is "undefined", not a stream error.
    const handle = await fs.open(this.pathOf(key), 'r').catch(undefinedIfMissing);
    return handle?.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async stat(key: string): Promise<BlobStat | undefined> {
    const stat = await fs.stat(this.pathOf(key)).catch(undefinedIfMissing);
    // The file's name is its content hash: the strongest validator there is.
    return stat && { size: stat.size, etag: `"${key.slice(key.lastIndexOf('/') + 1)}"` };
  }

  async withLocalFile<T>(key: string, use: (file: string) => Promise<T>): Promise<T | undefined> {
    return (await this.exists(key)) ? use(this.pathOf(key)) : undefined;
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
    await this.staging.sweep();
  }

  /** Files are served by this process; a proxy in front can use X-Accel-Redirect instead. */
  directUrl(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
}

function undefinedIfMissing(err: unknown): undefined {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
  throw err;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** A write that failed: its file removed, a full disk said as such. */
async function abandon(file: string, err: unknown): Promise<never> {
  await discardFile(file);
  throw isDiskFull(err) ? new DiskFullError() : err;
}
