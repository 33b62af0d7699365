/**
 * The shared configuration for the bench: a throwaway PostgreSQL cluster (Debian's binaries, as
 * the tests start it) and an S3 test server (s3rver), seeded with the same rows as the SQLite data
 * dir (copied by migrate-data's row copy, so the same tokens work), and `gazo serve --no-jobs`
 * processes and one `gazo worker` on them, each with a data dir of its own for staging.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { copyRows } from '../src/services/migrate-data.service.ts';
import { openPostgresStore, openSqliteStore } from '../src/store/index.ts';
import { setup as startPostgres } from '../test/helpers/postgres.ts';
import { startTestS3, TEST_S3_ENV } from '../test/helpers/s3-server.ts';
import { type GazoLaunch, startGazoServer, startGazoWorker } from './gazo-process.ts';
import type { Started } from './procs.ts';

export interface SharedBackends {
  databaseUrl: string;
  blobsUrl: string;
  /** Seconds the copy of the seeded rows into PostgreSQL took, and how many rows it was. */
  copy: { seconds: number; rows: number };
  stop(): Promise<void>;
}

/** Starts PostgreSQL and s3rver and copies the rows of `seededDataDir` (no server on it yet) there. */
export async function startSharedBackends(seededDataDir: string): Promise<SharedBackends> {
  let adminUrl = '';
  const stopPostgres = await startPostgres({
    provide: (_key, value) => {
      adminUrl = value;
    },
  });
  const s3 = await startTestS3(['gazo-bench']);
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query('CREATE DATABASE gazo_bench');
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = '/gazo_bench';
  const databaseUrl = url.toString();

  const started = performance.now();
  const [source, target] = [await openSqliteStore(seededDataDir), await openPostgresStore(databaseUrl)];
  let rows = 0;
  try {
    await target.dataCopy.takeIdentity(
      (await source.dataCopy.identity()).id,
      (await source.dataCopy.identity()).created_at,
    );
    const counts = await copyRows(source, target, Date.now(), {
      start: () => undefined,
      tick: () => undefined,
      note: () => undefined,
      stop: () => undefined,
    });
    rows = Object.values(counts).reduce((a, b) => a + b, 0);
  } finally {
    await source.close();
    await target.close();
  }
  return {
    databaseUrl,
    blobsUrl: s3.blobsUrl('gazo-bench'),
    copy: { seconds: (performance.now() - started) / 1000, rows },
    async stop() {
      await s3.stop();
      await stopPostgres?.();
    },
  };
}

/** The launch of a `gazo` process on the shared backends; `name` names its own (staging) data dir. */
async function sharedLaunch(
  backends: SharedBackends,
  tmp: string,
  name: string,
  nodeFlags: string[],
  env: NodeJS.ProcessEnv,
): Promise<GazoLaunch> {
  const dataDir = path.join(tmp, name);
  await fs.mkdir(dataDir, { recursive: true });
  return {
    dataDir,
    nodeFlags,
    env: { ...env, ...TEST_S3_ENV },
    args: ['--database', backends.databaseUrl, '--blobs', backends.blobsUrl],
    label: `gazo (${name})`,
  };
}

/**
 * `gazo serve --no-jobs` on the shared backends, as production splits the work: HTTP here, the
 * jobs (thumbnails, collection) in the worker (startSharedWorker).
 */
export async function startSharedServer(
  backends: SharedBackends,
  tmp: string,
  name: string,
  nodeFlags: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ server: Started; url: string }> {
  const launch = await sharedLaunch(backends, tmp, name, nodeFlags, env);
  return startGazoServer({ ...launch, args: [...(launch.args ?? []), '--no-jobs'] });
}

/** `gazo worker` on the shared backends: the background work of every server there. */
export async function startSharedWorker(
  backends: SharedBackends,
  tmp: string,
  nodeFlags: string[],
  env: NodeJS.ProcessEnv,
): Promise<Started> {
  return startGazoWorker(await sharedLaunch(backends, tmp, 'pg-worker', nodeFlags, env));
}
