import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../src/blobs/local-blob-store.ts';
import { makeDataDir } from '../helpers/server.ts';

const HOUR = 60 * 60 * 1000;

/** A `node` process that stays alive until it is killed: another Gazo process's stand-in. */
function otherProcess() {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
}

describe('the start-up sweep of staged files', () => {
  let dir: string;
  let tmp: string;
  let blobs: LocalBlobStore;
  const alive: ReturnType<typeof otherProcess>[] = [];

  beforeEach(async () => {
    dir = await makeDataDir();
    tmp = path.join(dir, 'blobs', 'tmp');
    blobs = new LocalBlobStore(path.join(dir, 'blobs'));
  });
  afterEach(async () => {
    for (const child of alive.splice(0)) child.kill('SIGKILL');
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** A staged file named as `pid` on this host names its files (the host tag is read off our own). */
  async function stagedBy(pid: number, ageMs = 0): Promise<string> {
    const own = path.basename(await blobs.stagingPath());
    const [host] = own.split('-');
    const name = `${host}-${pid}-${'0123456789abcdef'}.part`;
    await write(name, ageMs);
    return name;
  }
  async function write(name: string, ageMs = 0) {
    await fs.mkdir(tmp, { recursive: true });
    await fs.writeFile(path.join(tmp, name), 'half an upload');
    const when = new Date(Date.now() - ageMs);
    await fs.utimes(path.join(tmp, name), when, when);
  }
  const left = async () => (await fs.readdir(tmp).catch(() => [] as string[])).sort();

  it("never removes a live process's upload in progress, however the sweep was started", async () => {
    const other = otherProcess();
    alive.push(other);
    await once(other, 'spawn');
    const theirs = await stagedBy(other.pid as number);
    const ours = path.basename(await blobs.stagingPath());
    await write(ours);
    // Another host's writer (a shared data dir): its pid means nothing here, its age does.
    const anotherHost = 'ffffffff-1-0123456789abcdef.part';
    await write(anotherHost, 5 * 60 * 1000);

    await blobs.sweepIncomplete();
    expect(await left()).toEqual([anotherHost, ours, theirs].sort());
  });

  it('removes what dead processes left at once, and anything untouched for over an hour', async () => {
    const gone = otherProcess();
    await once(gone, 'spawn');
    gone.kill('SIGKILL');
    await once(gone, 'exit');
    await stagedBy(gone.pid as number);
    await write('ffffffff-1-0123456789abcdef.part', 2 * HOUR);
    await write('half.part', 2 * HOUR);
    const young = 'half-young.part';
    await write(young, 60 * 1000);

    await blobs.sweepIncomplete();
    expect(await left()).toEqual([young]);
  });
});
