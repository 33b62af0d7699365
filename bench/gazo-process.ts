import fs from 'node:fs/promises';
import path from 'node:path';
import { freePort, ROOT, type Started, startChild } from './procs.ts';

/** How the bench runs a `gazo` command: compiled, with the node flags and environment npm start gives it. */
export interface GazoLaunch {
  /** Its data dir (on PostgreSQL + S3 only its staging files are there). */
  dataDir: string;
  nodeFlags: string[];
  env: NodeJS.ProcessEnv;
  /** More flags for the command (`--database …`, `--no-jobs`). */
  args?: string[];
  label: string;
}

const startGazo = (launch: GazoLaunch, command: string[], ready: RegExp) =>
  startChild(
    process.execPath,
    [
      ...launch.nodeFlags,
      path.join(ROOT, 'bin/gazo.js'),
      ...command,
      '--data-dir',
      launch.dataDir,
      ...(launch.args ?? []),
    ],
    ready,
    { label: launch.label, env: launch.env },
  );

/**
 * `gazo serve` on 127.0.0.1, on a free port; resolves once it is listening, or once it prints
 * the line `ready` matches (the `OCR:` line follows the listening one).
 */
export async function startGazoServer(
  launch: GazoLaunch,
  ready = /Gazo listening on/,
): Promise<{ server: Started; url: string }> {
  const port = await freePort();
  const server = await startGazo(launch, ['serve', '--host', '127.0.0.1', '--port', String(port)], ready);
  return { server, url: `http://127.0.0.1:${port}` };
}

/** `gazo worker`; resolves once it runs its jobs. */
export function startGazoWorker(launch: GazoLaunch): Promise<Started> {
  return startGazo(launch, ['worker'], /Gazo worker running/);
}

/** The node flags `npm start` gives Gazo, so that the bench runs it exactly as operators do. */
export async function startFlags(): Promise<{ flags: string[]; env: Record<string, string> }> {
  const pkg = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const words = pkg.scripts.start.split(/\s+/);
  const node = words.indexOf('node');
  // `VAR=value node …`: the environment npm start gives Gazo (e.g. MALLOC_ARENA_MAX).
  const env = Object.fromEntries(words.slice(0, node).map((w) => w.split('=', 2) as [string, string]));
  return {
    flags: words.slice(node + 1, words.indexOf('bin/gazo.js')).filter((w) => w.startsWith('--')),
    env,
  };
}
