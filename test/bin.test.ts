import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staleBuildReason } from '../bin/build-freshness.js';
import { CHILDREN_RUN_SOURCES, cleanEnv, REPO_ROOT } from './helpers/child.ts';
import { makeDataDir } from './helpers/server.ts';

const run = promisify(execFile);

/**
 * bin/gazo.js runs the build in dist/ (what `npm ci` compiled), and the TypeScript sources when
 * told to or when the build could be stale. Checked on a copy of bin/gazo.js beside a dist/ and
 * a src/ whose `main` each say which one ran.
 */
describe('bin/gazo.js picks the build or the sources', { timeout: 60_000 }, () => {
  let root: string;
  const gazo = async (env: Record<string, string> = {}) => {
    const base = { ...process.env };
    delete base.GAZO_FROM_SOURCE;
    const { stdout, stderr } = await run(process.execPath, [path.join(root, 'bin/gazo.js'), 'x'], {
      env: { ...base, ...env },
    });
    return { stdout: stdout.trim(), stderr };
  };
  const setTimes = (file: string, seconds: number) => fs.utimes(path.join(root, file), seconds, seconds);

  beforeAll(async () => {
    root = await makeDataDir();
    await fs.mkdir(path.join(root, 'bin'));
    await fs.mkdir(path.join(root, 'dist/cli'), { recursive: true });
    await fs.mkdir(path.join(root, 'src/cli'), { recursive: true });
    for (const file of ['bin/gazo.js', 'bin/build-freshness.js'])
      await fs.copyFile(path.join(REPO_ROOT, file), path.join(root, file));
    await fs.symlink(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
    await fs.writeFile(path.join(root, 'package.json'), '{"type": "module"}\n');
    await fs.writeFile(
      path.join(root, 'dist/cli/main.js'),
      'export async function main() { console.log("dist"); }\n',
    );
    // Type syntax: only tsx can run this.
    await fs.writeFile(
      path.join(root, 'src/cli/main.ts'),
      'export async function main(argv: string[]): Promise<void> { console.log("src"); }\n',
    );
  });
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  it('runs dist/ when it is newer than every source', async () => {
    await setTimes('src/cli/main.ts', 1_000_000);
    await setTimes('dist/cli/main.js', 2_000_000);
    expect(await gazo()).toEqual({ stdout: 'dist', stderr: '' });
  });

  it('runs the sources with GAZO_FROM_SOURCE=1, quietly', async () => {
    expect(await gazo({ GAZO_FROM_SOURCE: '1' })).toEqual({ stdout: 'src', stderr: '' });
  });

  it('runs the sources, saying why, when a source changed after the build', async () => {
    await setTimes('src/cli/main.ts', 3_000_000);
    const out = await gazo();
    expect(out.stdout).toBe('src');
    expect(out.stderr).toMatch(/src\/cli\/main\.ts changed since the build.*npm run build/);
  });

  it('runs the sources when there is no build', async () => {
    await fs.rm(path.join(root, 'dist'), { recursive: true });
    const out = await gazo();
    expect(out.stdout).toBe('src');
    expect(out.stderr).toMatch(/no build in dist/);
  });

  it('the test helpers run the build when it is fresh and the sources when not, quietly either way', () => {
    expect(CHILDREN_RUN_SOURCES).toBe(staleBuildReason(REPO_ROOT) !== undefined);
    expect(cleanEnv().GAZO_FROM_SOURCE).toBe(CHILDREN_RUN_SOURCES ? '1' : undefined);
  });
});
