import fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../config.ts';

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * One `gazo serve` per embedded data dir: its start-up sweep treats every unfinished upload as
 * dead, which is only true when no other server is writing there. A pid file left by a process
 * that died (a crash, SIGKILL) is taken over. Returns the release function.
 */
export async function acquireServeLock(dataDir: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, 'serve.pid');
  await fs.mkdir(dataDir, { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return () => fs.rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(await fs.readFile(file, 'utf8').catch(() => ''), 10);
      if (pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new ConfigError(
          `another gazo serve (pid ${pid}) is using ${dataDir}; stop it first, or give this one its own --data-dir`,
        );
      }
      await fs.rm(file, { force: true });
    }
  }
  throw new ConfigError(`could not take ${file}`);
}
