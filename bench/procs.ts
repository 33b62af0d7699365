import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

/** The repository root (bench/ lives directly under it). */
export const ROOT = path.resolve(import.meta.dirname, '..');

/** Every child this bench started and has not seen exit; all are killed on the way out. */
const children = new Set<ChildProcess>();

/**
 * Children run in their own process group (`detached`), so that killing the group also ends
 * anything they started (nginx's worker process).
 */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  // Last resort: whatever is still running when this process exits is killed outright.
  process.on('exit', () => {
    for (const child of children) killGroup(child, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping children\n`);
      process.exit(130);
    });
  }
}

export interface Started {
  child: ChildProcess;
  /** The first stdout line that matched `ready`. */
  line: string;
  /** Everything the child wrote to stderr so far (for error messages). */
  stderr(): string;
  stop(): Promise<void>;
}

/**
 * Starts a child and waits (at most `timeoutMs`) until a line of its stdout matches `ready`,
 * or, when `ready` is a port number, until that port on 127.0.0.1 accepts a connection.
 * Rejects, after killing it, if it exits or times out first.
 */
export function startChild(
  command: string,
  args: string[],
  ready: RegExp | number,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; label: string },
): Promise<Started> {
  hookExit();
  const child = spawn(command, args, {
    cwd: ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.add(child);
  let err = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    if (err.length < 20_000) err += chunk;
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      children.delete(child);
      resolve();
    });
  });
  const stop = async () => {
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  return new Promise<Started>((resolve, reject) => {
    let out = '';
    let done = false;
    const fail = (why: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`${options.label}: ${why}\n${err.trim()}`)));
    };
    const timer = setTimeout(() => fail('not ready in time'), options.timeoutMs ?? 30_000);
    child.once('error', (e) => fail(e.message));
    child.once('exit', (code, signal) => fail(`exited early (code ${code}, signal ${signal})`));
    const succeed = (line: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ child, line, stderr: () => err, stop });
    };
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (done || typeof ready === 'number') return;
      out += chunk;
      // Whole lines only: a chunk can end mid-line, and the caller may keep the line it matched.
      const line = out
        .split('\n')
        .slice(0, -1)
        .find((l) => ready.test(l));
      if (line !== undefined) succeed(line);
    });
    if (typeof ready === 'number') {
      const poll = () => {
        if (done) return;
        const socket = net.connect(ready, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          succeed(`port ${ready} open`);
        });
        socket.once('error', () => {
          socket.destroy();
          setTimeout(poll, 50);
        });
      };
      poll();
    }
  });
}

/**
 * Runs a child to completion (bounded by `timeoutMs`) and returns its stdout; rejects on a
 * non-zero exit.
 */
export function runChild(
  command: string,
  args: string[],
  options: { timeoutMs: number; label: string; input?: string },
): Promise<string> {
  hookExit();
  const child = spawn(command, args, {
    cwd: ROOT,
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    detached: true,
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (c: string) => {
    out += c;
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => {
    if (err.length < 20_000) err += c;
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      reject(new Error(`${options.label}: timed out after ${options.timeoutMs} ms\n${err.trim()}`));
    }, options.timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      children.delete(child);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (code === 0) resolve(out);
      else reject(new Error(`${options.label}: exit code ${code}, signal ${signal}\n${err.trim()}`));
    });
  });
}

/** Stops every child still running (each with SIGTERM, then SIGKILL after 5 s). */
export async function stopAll(stops: Array<Started | undefined>): Promise<void> {
  await Promise.allSettled(stops.map((s) => s?.stop()));
  for (const child of children) killGroup(child, 'SIGKILL');
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/** `node --import tsx <script>` for a bench-side TypeScript entry point. */
export function tsNode(script: string, ...args: string[]): [string, string[]] {
  return [process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', script), ...args]];
}
