import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { inject } from 'vitest';

/**
 * A throwaway PostgreSQL cluster for the test run, from Debian's binaries: made by vitest's
 * globalSetup (this module's `setup`), one per run, stopped at its end. Each test file asks
 * `testDatabaseUrl()` for a database of its own. With GAZO_TEST_DATABASE_URL (a server where
 * that role may CREATE DATABASE) no cluster is started and the databases are made there.
 *
 * Nothing is skipped: missing binaries or a cluster that does not start fail the whole run.
 */

const run = promisify(execFile);

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where test databases are created (a maintenance database of the cluster). */
    gazoPostgresAdminUrl: string;
  }
}

/** Debian's PostgreSQL 15; GAZO_TEST_PG_BIN points elsewhere. */
const BIN_DIR = process.env.GAZO_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
/** The OS user that owns the cluster: PostgreSQL refuses to run as root. */
const OS_USER = 'postgres';

interface Cluster {
  adminUrl: string;
  stop(): Promise<void>;
}

/** vitest globalSetup: start the cluster (or take the given server) and hand its URL to the test files. */
export async function setup(project: { provide(key: 'gazoPostgresAdminUrl', value: string): void }) {
  const given = process.env.GAZO_TEST_DATABASE_URL;
  if (given) {
    project.provide('gazoPostgresAdminUrl', given);
    return;
  }
  const cluster = await startCluster();
  project.provide('gazoPostgresAdminUrl', cluster.adminUrl);
  return () => cluster.stop();
}

async function startCluster(): Promise<Cluster> {
  const tool = (name: string) => path.join(BIN_DIR, name);
  for (const name of ['initdb', 'pg_ctl', 'postgres']) {
    try {
      await fs.access(tool(name), fs.constants.X_OK);
    } catch {
      throw new Error(
        `PostgreSQL tests need ${tool(name)} (Debian: apt-get install postgresql-15), ` +
          'or GAZO_TEST_DATABASE_URL=postgres://… naming a server to create test databases on',
      );
    }
  }
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'gazo-pg-'));
  const dataDir = path.join(root, 'data');
  const asOwner = async (cmd: string, args: string[]) => {
    const argv = process.getuid?.() === 0 ? ['runuser', ['-u', OS_USER, '--', cmd, ...args]] : [cmd, args];
    try {
      return await run(argv[0] as string, argv[1] as string[], { cwd: root });
    } catch (err) {
      const e = err as Error & { stderr?: string; stdout?: string };
      throw new Error(`${path.basename(cmd)} failed: ${e.stderr || e.stdout || e.message}`);
    }
  };
  if (process.getuid?.() === 0) await run('chown', [OS_USER, root]);
  await asOwner(tool('initdb'), [
    '-D',
    dataDir,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--encoding=UTF8',
    // Letters outside ASCII (Japanese) are word characters for pg_trgm only in a UTF-8 locale.
    '--locale=C.UTF-8',
    '--no-sync',
  ]);
  const port = await freePort();
  const options = [
    '-c listen_addresses=127.0.0.1',
    `-c port=${port}`,
    `-c unix_socket_directories=${root}`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
  ].join(' ');
  await asOwner(tool('pg_ctl'), [
    '-D',
    dataDir,
    '-o',
    options,
    '-l',
    path.join(root, 'log'),
    '-w',
    '-t',
    '60',
    'start',
  ]).catch(async (err) => {
    const log = await fs.readFile(path.join(root, 'log'), 'utf8').catch(() => '');
    throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${log}`);
  });
  // Should vitest end without its teardown (an exception, Ctrl-C), the cluster goes with it.
  const stopNow = () => {
    try {
      const stop = [tool('pg_ctl'), '-D', dataDir, '-m', 'immediate', 'stop'];
      if (process.getuid?.() === 0)
        execFileSync('runuser', ['-u', OS_USER, '--', ...stop], { stdio: 'ignore' });
      else execFileSync(stop[0] as string, stop.slice(1), { stdio: 'ignore' });
    } catch {
      // Already stopped.
    }
  };
  process.once('exit', stopNow);
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      process.off('exit', stopNow);
      await asOwner(tool('pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

/** Connection string of `url`'s server with another database name. */
function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * A new, empty database on the run's cluster, for one test file (or one test); dropped again by
 * `drop()`, or with the cluster at the end of the run.
 */
export async function testDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = inject('gazoPostgresAdminUrl');
  const name = `gazo_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(adminUrl, name),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Runs `psql`-free SQL on a test database: for tests that look under the store. */
export async function queryDatabase<R extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * GAZO_TEST_STORE=postgres runs the HTTP suites on PostgreSQL: every data dir a test server
 * starts on gets a database of its own (the same one again when a test restarts a server on it).
 */
export const serversUsePostgres = () => process.env.GAZO_TEST_STORE === 'postgres';
const databaseOfDataDir = new Map<string, Promise<string>>();

/** The database for the servers of `dataDir` in that mode; undefined on SQLite (the default). */
export function serverDatabaseFor(dataDir: string): Promise<string> | undefined {
  if (!serversUsePostgres()) return undefined;
  let url = databaseOfDataDir.get(dataDir);
  if (!url) {
    url = testDatabase().then((db) => db.url);
    databaseOfDataDir.set(dataDir, url);
  }
  return url;
}
