/**
 * The shared configuration for the bench: a throwaway PostgreSQL cluster (Debian's binaries, as
 * the tests start it) and an S3 test server (s3rver), seeded with the same rows as the SQLite data
 * dir (copied by migrate-data's row copy, so the same tokens work), and `gazo serve` processes on
 * them, each with a data dir of its own for staging.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { copyRows } from '../src/services/migrate-data.service.ts';
import { openPostgresStore, openSqliteStore } from '../src/store/index.ts';
import { setup as startPostgres } from '../test/helpers/postgres.ts';
import { startTestS3, TEST_S3_ENV } from '../test/helpers/s3-server.ts';
import { freePort, ROOT, type Started, startChild } from './procs.ts';

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
    await target.dataCopy.advanceIdentities();
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

/** `gazo serve` (compiled, with npm start's flags) on the shared backends; `name` names its staging dir. */
export async function startSharedServer(
  backends: SharedBackends,
  tmp: string,
  name: string,
  flags: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ server: Started; url: string }> {
  const port = await freePort();
  const dataDir = path.join(tmp, name);
  await fs.mkdir(dataDir, { recursive: true });
  const server = await startChild(
    process.execPath,
    [
      ...flags,
      path.join(ROOT, 'bin/gazo.js'),
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--data-dir',
      dataDir,
      '--database',
      backends.databaseUrl,
      '--blobs',
      backends.blobsUrl,
    ],
    /Gazo listening on/,
    { label: `gazo serve (${name})`, env: { ...env, ...TEST_S3_ENV } },
  );
  return { server, url: `http://127.0.0.1:${port}` };
}
