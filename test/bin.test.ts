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

/**
 * Run as a program (`npx gazo`, a global install), bin/gazo.js is first a shell script that
 * replaces itself with node and npm start's memory settings. Checked on a copy whose dist/
 * `main` prints what its process got.
 */
describe('bin/gazo.js run as a program gets npm start’s memory settings', { timeout: 60_000 }, () => {
  let root: string;
  /** The environment without any of the settings, as a shell that never set them has it. */
  const bare = () => {
    const env = { ...process.env };
    for (const name of ['MALLOC_ARENA_MAX', 'MALLOC_MMAP_THRESHOLD_', 'NODE_OPTIONS', 'GAZO_FROM_SOURCE'])
      delete env[name];
    return env;
  };
  /** What npm start gives `node`, read from package.json: `VAR=value … node --flag … bin/gazo.js serve`. */
  const npmStart = async () => {
    const pkg = JSON.parse(await fs.readFile(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    const words: string[] = pkg.scripts.start.split(/\s+/);
    const node = words.indexOf('node');
    return {
      env: Object.fromEntries(words.slice(0, node).map((w) => w.split('=', 2) as [string, string])),
      flags: words.slice(node + 1).filter((w) => w.startsWith('--')),
    };
  };
  const started = (env: NodeJS.ProcessEnv) =>
    new Promise<{ pid: number | undefined; report: Record<string, unknown> }>((resolve, reject) => {
      // Through a symlink, as node_modules/.bin/gazo is one.
      const child = execFile(path.join(root, '.bin/gazo'), ['serve'], { env }, (err, stdout) =>
        err ? reject(err) : resolve({ pid: child.pid, report: JSON.parse(stdout) }),
      );
    });

  beforeAll(async () => {
    root = await makeDataDir();
    await fs.mkdir(path.join(root, 'bin'));
    await fs.mkdir(path.join(root, 'dist/cli'), { recursive: true });
    await fs.mkdir(path.join(root, 'src'));
    await fs.mkdir(path.join(root, '.bin'));
    for (const file of ['bin/gazo.js', 'bin/build-freshness.js'])
      await fs.copyFile(path.join(REPO_ROOT, file), path.join(root, file));
    await fs.chmod(path.join(root, 'bin/gazo.js'), 0o755);
    await fs.symlink(path.join(root, 'bin/gazo.js'), path.join(root, '.bin/gazo'));
    await fs.writeFile(path.join(root, 'package.json'), '{"type": "module"}\n');
    // Fills the young generation, then says how large V8 let it grow.
    await fs.writeFile(
      path.join(root, 'dist/cli/main.js'),
      `import v8 from 'node:v8';
export async function main() {
  const keep = [];
  for (let i = 0; i < 300000; i++) keep.push({ i });
  const young = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  console.log(JSON.stringify({
    pid: process.pid,
    youngBytes: young.space_size,
    MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX,
    MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_,
    NODE_OPTIONS: process.env.NODE_OPTIONS,
    kept: keep.length,
  }));
}
`,
    );
  });
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  it('sets what npm start sets, in the one process it leaves (no shell stays behind)', async () => {
    const { pid, report } = await started(bare());
    const start = await npmStart();
    for (const [name, value] of Object.entries(start.env)) expect(report[name]).toBe(value);
    for (const flag of start.flags) expect(String(report.NODE_OPTIONS).split(' ')).toContain(flag);
    // --max-semi-space-size=4: two semi-spaces of 4 MB at most, against 16 MB each by default.
    expect(report.youngBytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(report.pid).toBe(pid);
  });

  it("keeps the operator's own values", async () => {
    const { report } = await started({
      ...bare(),
      MALLOC_ARENA_MAX: '2',
      MALLOC_MMAP_THRESHOLD_: '65536',
      NODE_OPTIONS: '--max_semi_space_size=16',
    });
    expect(report).toMatchObject({
      MALLOC_ARENA_MAX: '2',
      MALLOC_MMAP_THRESHOLD_: '65536',
      NODE_OPTIONS: '--max_semi_space_size=16',
    });
    expect(report.youngBytes).toBeGreaterThan(8 * 1024 * 1024);
  });

  it('run by node itself (as npm start and the tests run it), changes nothing', async () => {
    const out = await run(process.execPath, [path.join(root, 'bin/gazo.js'), 'serve'], { env: bare() });
    const report = JSON.parse(out.stdout);
    expect(report.MALLOC_ARENA_MAX).toBeUndefined();
    expect(report.NODE_OPTIONS).toBeUndefined();
    expect(report.youngBytes).toBeGreaterThan(8 * 1024 * 1024);
  });
});
