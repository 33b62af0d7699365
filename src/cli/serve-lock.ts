import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../config.ts';
import { makePrivateDir } from '../data-dir.ts';

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * What runs as `pid`: a gazo serve, something else (the pid was reused after the server died),
 * or unknown where /proc cannot tell (another OS, or hidden processes).
 */
async function whatRuns(pid: number): Promise<'gazo serve' | 'gazo worker' | 'other' | 'unknown'> {
  let cmdline: string;
  try {
    cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' && (await procMounted()) ? 'other' : 'unknown';
  }
  // `node …/bin/gazo.js serve …`, or through npx / a PATH link: `node …/.bin/gazo serve …`.
  const args = cmdline.split('\0');
  const script = args.findIndex((a) => /(^|\/)gazo(\.js)?$/.test(a));
  const command = script >= 0 ? args[script + 1] : undefined;
  return command === 'serve' || command === 'worker' ? `gazo ${command}` : 'other';
}

const procMounted = () =>
  fs.access('/proc/self/cmdline').then(
    () => true,
    () => false,
  );

/**
 * One `gazo serve` or `gazo worker` per embedded (SQLite) data dir: its start-up sweep treats
 * every unfinished upload and every job lease as dead, which is only true when no other server
 * or worker is writing there. A pid file left by a process
 * that died (a crash, SIGKILL) is taken over, also when its pid has since been given to some
 * other program. Returns the release function.
 */
export async function acquireServeLock(dataDir: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, 'serve.pid');
  await makePrivateDir(dataDir);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => fs.rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(await fs.readFile(file, 'utf8').catch(() => ''), 10);
      if (pid > 0 && pid !== process.pid && isAlive(pid)) {
        const running = await whatRuns(pid);
        if (running === 'gazo serve' || running === 'gazo worker') {
          throw new ConfigError(
            `another ${running} (pid ${pid}) is using ${dataDir}; stop it first, or give this one its own --data-dir`,
          );
        }
        if (running === 'unknown') {
          throw new ConfigError(
            `${file} names pid ${pid}, which is running but could not be checked; if it is not a gazo serve or worker, remove ${file} and start again`,
          );
        }
      }
      await fs.rm(file, { force: true });
    }
  }
  throw new ConfigError(`could not take ${file}`);
}
