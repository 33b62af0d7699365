import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * A staged file nobody has touched for this long is nobody's work in progress: the longest
 * request may take 10 minutes to arrive (the default request timeout) and a decode waits its
 * turn for a minute or so at most; an hour leaves room for a raised timeout.
 */
export const STALE_STAGED_MS = 60 * 60 * 1000;

/** This machine, in staged file names: a pid says nothing about processes on another host. */
const HOST_TAG = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);
/** When this process started: a file named with our pid but older than that is an earlier process's. */
const PROCESS_STARTED_AT = Date.now() - process.uptime() * 1000;
const OWNED = /^([0-9a-f]{8})-(\d+)-[0-9a-f]{16}\.part$/;

/**
 * The folder where files are written before they are stored (uploads being checked, blobs being
 * renamed into place). Several processes may share it (a server, `gazo fsck --repair`, a second
 * server on the same machine), so each file is named after its writer: host, pid, random.
 */
export class StagingDir {
  private made = false;

  constructor(
    readonly dir: string,
    private readonly staleAfterMs = STALE_STAGED_MS,
  ) {}

  async path(): Promise<string> {
    if (!this.made) {
      await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.made = true;
    }
    return path.join(this.dir, `${HOST_TAG}-${process.pid}-${randomBytes(8).toString('hex')}.part`);
  }

  /**
   * Removes the files whose writer is provably gone (a process of this host that no longer runs,
   * or ran before this one under our pid) and any file untouched for `staleAfterMs`. Files of
   * live processes, and young files of unknown writers (another host), are left alone.
   */
  async sweep(now = Date.now()): Promise<number> {
    let removed = 0;
    for (const name of await fs.readdir(this.dir).catch(() => [] as string[])) {
      const file = path.join(this.dir, name);
      const stat = await fs.stat(file).catch(() => undefined);
      if (!stat?.isFile()) continue;
      if (now - stat.mtimeMs < this.staleAfterMs && !writerIsGone(name, stat.mtimeMs)) continue;
      await fs.rm(file, { force: true });
      removed++;
    }
    return removed;
  }
}

function writerIsGone(name: string, mtimeMs: number): boolean {
  const owned = OWNED.exec(name);
  if (!owned || owned[1] !== HOST_TAG) return false;
  const pid = Number(owned[2]);
  if (pid === process.pid) return mtimeMs < PROCESS_STARTED_AT;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // EPERM: the process exists (another user's); only ESRCH says it is gone.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
