import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { staleBuildReason } from '../../bin/build-freshness.js';
import { serverDatabaseFor } from './postgres.ts';

/**
 * Runs `node bin/gazo.js …` as users do: separate processes, real signals, real exit codes; the
 * compiled build when it is fresh, else the sources (see cleanEnv).
 */

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const GAZO_BIN = fileURLToPath(new URL('../../bin/gazo.js', import.meta.url));

/** Every child still running; `killChildren()` in afterAll ends them. */
const running = new Set<ChildProcess>();

/**
 * Whether the children must run the TypeScript sources: when dist/ is missing or older than a
 * source, so a test always runs the code as it is now, never a build left from before an edit.
 * After `npm ci` (which builds) or `npm run build`, they run dist/, as `npm start` does: half a
 * second less for every process a test starts, and the code users run.
 */
export const CHILDREN_RUN_SOURCES = staleBuildReason(REPO_ROOT) !== undefined;

/**
 * The environment of this process without any GAZO_* setting, plus `extra`; with
 * GAZO_FROM_SOURCE=1 when the build is stale (see CHILDREN_RUN_SOURCES), which also keeps
 * bin/gazo.js from saying so on every child's stderr. OCR is off unless `extra` turns it on:
 * it costs a second an image, and only the OCR tests read text.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GAZO_')) env[key] = value;
  if (CHILDREN_RUN_SOURCES) env.GAZO_FROM_SOURCE = '1';
  return { ...env, GAZO_OCR: 'off', ...extra };
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs one CLI command to its end. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; command?: string[]; input?: string | Buffer } = {},
): Promise<CliResult> {
  const [cmd, ...pre] = options.command ?? [process.execPath, GAZO_BIN];
  // GAZO_TEST_STORE=postgres: a command on a data dir uses that data dir's database.
  const dataDir = args[args.indexOf('--data-dir') + 1];
  const database = args.includes('--data-dir') && dataDir ? serverDatabaseFor(dataDir) : undefined;
  return (database ?? Promise.resolve(undefined)).then((url) =>
    runCliOnce(cmd as string, [...pre, ...args], {
      ...options,
      env: url ? { GAZO_DATABASE_URL: url, ...options.env } : options.env,
    }),
  );
}

function runCliOnce(
  cmd: string,
  argv: string[],
  options: { env?: Record<string, string>; cwd?: string; input?: string | Buffer },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, {
      cwd: options.cwd ?? REPO_ROOT,
      env: cleanEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    running.add(child);
    // Without input, stdin is closed at once: a command that reads it sees an empty pipe.
    child.stdin.end(options.input);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

export interface ChildServer {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Everything the server wrote so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves when the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` and waits for the process to end. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `gazo serve` as a child process and waits until GET /healthz answers 200.
 * Without `args`, it listens on 127.0.0.1 on a free port with `--data-dir dataDir`.
 */
export async function spawnServer(
  dataDir: string | undefined,
  options: { args?: string[]; env?: Record<string, string>; port?: number; cwd?: string } = {},
): Promise<ChildServer> {
  // A port found free can be taken by someone else before the child binds it: try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnServerOnce(dataDir, options);
    } catch (err) {
      const retry = options.port === undefined && !options.args && attempt < 3;
      if (!retry || !String((err as Error).message).includes('EADDRINUSE')) throw err;
    }
  }
}

async function spawnServerOnce(
  dataDir: string | undefined,
  options: { args?: string[]; env?: Record<string, string>; port?: number; cwd?: string },
): Promise<ChildServer> {
  const port = options.port ?? (await freePort());
  const database = dataDir ? await serverDatabaseFor(dataDir) : undefined;
  const args = options.args ?? [
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    ...(dataDir ? ['--data-dir', dataDir] : []),
    ...(database ? ['--database', database] : []),
  ];
  const proc = spawn(process.execPath, [GAZO_BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: cleanEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  let stdout = '';
  let stderr = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  let ended = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => {
      ended = true;
      running.delete(proc);
      resolve({ code, signal });
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const server: ChildServer = {
    url,
    port,
    proc,
    output: () => ({ stdout, stderr }),
    exited,
    async stop(signal = 'SIGKILL') {
      if (!ended) proc.kill(signal);
      await exited;
    },
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (ended) {
      throw new Error(`gazo serve exited before it answered /healthz:\n${stdout}\n${stderr}`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) {
        await res.arrayBuffer();
        return server;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`gazo serve did not answer /healthz within 30 s:\n${stdout}\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Kills every child still running (for afterAll) and waits for them to go. */
export async function killChildren(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  running.clear();
}
