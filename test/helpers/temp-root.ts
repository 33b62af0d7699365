import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * vitest globalSetup: every temporary folder of the run (servers' data dirs, staged files, the
 * PostgreSQL cluster) goes under one folder, removed when the run ends. Test files make their
 * folders with `os.tmpdir()`, which reads TMPDIR, and the test workers inherit it. Without this,
 * each run left its servers' data dirs behind: 60 GB of them on one developer machine.
 */
export async function setup() {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'gazo-tests-'));
  // The PostgreSQL cluster runs as its own user, under this folder too: it must get through.
  await fs.chmod(root, 0o755);
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return async () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    await fs.rm(root, { recursive: true, force: true });
  };
}
