import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originalKey } from '../src/blobs/blob-store.ts';
import { COPIED_TABLES, type CopiedTable } from '../src/store/data-copy.repository.ts';
import { openPostgresStore, openSqliteStore } from '../src/store/index.ts';
import { uploadOk, type WireImage } from './helpers/api.ts';
import {
  cleanEnv,
  freePort,
  GAZO_BIN,
  killChildren,
  REPO_ROOT,
  runCli,
  spawnServer,
} from './helpers/child.ts';
import { blobPath } from './helpers/data-dir.ts';
import { noisePng, solidJpeg } from './helpers/images.ts';
import { testDatabase } from './helpers/postgres.ts';
import { startTestS3, TEST_S3_ENV, type TestS3 } from './helpers/s3-server.ts';
import { makeDataDir, startServer } from './helpers/server.ts';

interface Seeded {
  dataDir: string;
  tokens: string[];
  images: Array<{ wire: WireImage; bytes: Buffer; token: string }>;
  /** What search answered on the source, per token and query: image ids, newest first. */
  searches: Map<string, string[]>;
}

const QUERIES = ['harbour', 'ledger', 'nothing-matches-this'];

/** A data dir with two users, their tokens, and `count` images with text to search for. */
async function seed(count: number): Promise<Seeded> {
  const server = await startServer();
  try {
    const users = [await server.user('migrating-a'), await server.user('migrating-b')];
    const images: Seeded['images'] = [];
    for (let i = 0; i < count; i++) {
      const token = (users[i % 2] as { token: string }).token;
      const bytes =
        i % 3 === 0
          ? await solidJpeg(30 + i, 20, `#${(i * 9 + 16).toString(16).padStart(2, '0')}2040`)
          : await noisePng(40, 30, i + 1);
      const wire = await uploadOk(server, token, bytes, {
        title: i % 2 ? `harbour view ${i}` : `ledger page ${i}`,
        desc: `picture number ${i}`,
      });
      images.push({ wire, bytes, token });
    }
    await server.settle();
    const searches = new Map<string, string[]>();
    for (const { token } of users)
      for (const query of QUERIES)
        searches.set(`${token} ${query}`, await searchIds(server.url, token, query));
    return { dataDir: server.dataDir, tokens: users.map((u) => u.token), images, searches };
  } finally {
    await server.close();
  }
}

async function searchIds(base: string, token: string, query: string): Promise<string[]> {
  const res = await fetch(
    `${base}/api/search?access_token=${token}&query=${encodeURIComponent(query)}&per=100`,
  );
  expect(res.status).toBe(200);
  return ((await res.json()) as WireImage[]).map((i) => i.image_id);
}

/** Objects in an s3rver bucket (it keeps each as `<key>._S3rver_object`). */
async function objectsIn(s3: TestS3, bucket: string): Promise<number> {
  const entries = await fs.readdir(path.join(s3.directory, bucket), { recursive: true }).catch(() => []);
  return entries.filter((e) => String(e).endsWith('._S3rver_object')).length;
}

describe('gazo migrate-data', () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await startTestS3(['moved', 'corrupt', 'other']);
  });
  afterAll(async () => {
    await killChildren();
    await s3.stop();
  });

  // Many child processes on a shared machine: generous time.
  it('copies a data dir to PostgreSQL and S3, resumes after a kill, and a server there serves it all', {
    timeout: 240_000,
  }, async () => {
    const source = await seed(24);
    const db = await testDatabase();
    const args = [
      'migrate-data',
      '--data-dir',
      source.dataDir,
      '--to-database',
      db.url,
      '--to-blobs',
      s3.blobsUrl('moved'),
    ];
    const files = source.images.length * 2;

    // Killed once some files are copied, and before the end.
    const child = spawn(process.execPath, [GAZO_BIN, ...args], {
      cwd: REPO_ROOT,
      env: cleanEnv(TEST_S3_ENV),
      stdio: 'ignore',
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
    while ((await objectsIn(s3, 'moved')) < 4 && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const copiedBeforeKill = await objectsIn(s3, 'moved');
    expect(copiedBeforeKill).toBeGreaterThanOrEqual(4);
    expect(copiedBeforeKill).toBeLessThan(files);

    const resumed = await runCli(args, { env: TEST_S3_ENV });
    expect(resumed.stderr).not.toContain('gazo:');
    expect(resumed.code).toBe(0);
    const done =
      /migrated 2 users, 2 tokens, 24 images \((\d+) files copied, (\d+) already there and verified\)/.exec(
        resumed.stdout,
      );
    expect(done, resumed.stdout).not.toBeNull();
    expect(Number(done?.[1]) + Number(done?.[2])).toBe(files);
    expect(Number(done?.[2])).toBeGreaterThanOrEqual(copiedBeforeKill - 1);
    expect(await objectsIn(s3, 'moved')).toBe(files);

    // Every row of every copied table, every column, as the source has it (bigints come back as text).
    const [from, to] = [await openSqliteStore(source.dataDir), await openPostgresStore(db.url)];
    try {
      const plain = (rows: Array<Record<string, unknown>>) =>
        rows.map((row) =>
          Object.fromEntries(
            Object.entries(row).map(([c, v]) => [
              c,
              typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v,
            ]),
          ),
        );
      for (const table of Object.keys(COPIED_TABLES) as CopiedTable[]) {
        const expected = plain(await from.dataCopy.rowsAfter(table, undefined, 1000));
        const copied = plain(await to.dataCopy.rowsAfter(table, undefined, 1000));
        if (table === 'jobs')
          for (const job of expected) Object.assign(job, { locked_until: null, lease_owner: null });
        expect(copied, table).toEqual(expected);
      }
      expect(await from.dataCopy.count('images')).toBe(24);
    } finally {
      await from.close();
      await to.close();
    }

    // Once more: nothing to copy, nothing doubled.
    const again = await runCli(args, { env: TEST_S3_ENV });
    expect(again.stdout).toContain(
      `migrated 2 users, 2 tokens, 24 images (0 files copied, ${files} already there`,
    );

    const servingDir = await makeDataDir();
    const port = await freePort();
    const moved = await spawnServer(undefined, {
      port,
      env: TEST_S3_ENV,
      args: [
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--data-dir',
        servingDir,
        '--database',
        db.url,
        '--blobs',
        s3.blobsUrl('moved'),
      ],
    });
    try {
      for (const { wire, bytes, token } of source.images) {
        const raw = await fetch(new URL(new URL(wire.url).pathname, moved.url));
        expect(raw.status).toBe(200);
        expect(Buffer.from(await raw.arrayBuffer()).equals(bytes)).toBe(true);
        // The old token still works, and sees the same image object.
        const one = await fetch(`${moved.url}/api/images/${wire.image_id}?access_token=${token}`);
        expect(one.status).toBe(200);
        expect(((await one.json()) as WireImage).created_at).toBe(wire.created_at);
      }
      for (const token of source.tokens) {
        const list = await fetch(`${moved.url}/api/images?access_token=${token}`);
        expect(list.headers.get('x-total-count')).toBe('12');
        for (const query of QUERIES)
          expect(await searchIds(moved.url, token, query)).toEqual(source.searches.get(`${token} ${query}`));
      }
      // New rows get new ids, not those of copied rows (the identity counters moved past them).
      const user = await runCli(['user', 'create', 'after-move', '--data-dir', servingDir], {
        env: { GAZO_DATABASE_URL: db.url },
      });
      expect(user.code, user.stderr).toBe(0);
    } finally {
      await moved.stop('SIGTERM');
    }

    // gazo fsck checks the new configuration, from a machine with nothing but an empty data dir.
    const fsckDir = await makeDataDir();
    const fsck = (...extra: string[]) =>
      runCli(
        ['fsck', '--data-dir', fsckDir, '--database', db.url, '--blobs', s3.blobsUrl('moved'), ...extra],
        { env: TEST_S3_ENV },
      );
    const clean = await fsck();
    expect(clean.stdout + clean.stderr).toContain(`fsck: 24 images and ${files} files checked, no problems`);
    expect(clean.code).toBe(0);
    const thumbnail = (await fs.readdir(path.join(s3.directory, 'moved'), { recursive: true }))
      .map(String)
      .find((f) => f.startsWith('thumb/') && f.endsWith('._S3rver_object')) as string;
    await fs.rm(path.join(s3.directory, 'moved', thumbnail));
    const broken = await fsck();
    expect(broken.code).toBe(1);
    expect(broken.stdout).toContain('missing thumbnail');
    const repaired = await fsck('--repair');
    expect(repaired.stdout).toContain('1 problem, 1 repaired');
    expect((await fsck()).code).toBe(0);

    // gazo backup cannot snapshot PostgreSQL: it says what to do instead.
    const backup = await runCli(['backup', await makeDataDir(), '--data-dir', fsckDir, '--database', db.url]);
    expect(backup.code).toBe(1);
    expect(backup.stderr).toMatch(/pg_dump.*bucket with its versioning or replication.*docs\/deploy\.md/);

    // A second data dir cannot be poured into a database that holds the first one's users.
    const other = await seed(1);
    const refused = await runCli(
      [
        'migrate-data',
        '--data-dir',
        other.dataDir,
        '--to-database',
        db.url,
        '--to-blobs',
        s3.blobsUrl('other'),
      ],
      { env: TEST_S3_ENV },
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'the target database already holds users or images of another Gazo install',
    );
    expect(await objectsIn(s3, 'other')).toBe(0);
    await db.drop();
  });

  it('copies the bytes into a folder: the blobs of the data dir a server on PostgreSQL then uses', async () => {
    const source = await seed(2);
    const db = await testDatabase();
    const newDataDir = await makeDataDir();
    const result = await runCli([
      'migrate-data',
      '--data-dir',
      source.dataDir,
      '--to-database',
      db.url,
      '--to-blobs',
      path.join(newDataDir, 'blobs'),
    ]);
    expect(result.stdout).toContain('migrated 2 users, 2 tokens, 2 images (4 files copied, 0 already there');
    const port = await freePort();
    const server = await spawnServer(undefined, {
      port,
      args: [
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--data-dir',
        newDataDir,
        '--database',
        db.url,
      ],
    });
    try {
      for (const { wire, bytes } of source.images) {
        const raw = await fetch(new URL(new URL(wire.url).pathname, server.url));
        expect(Buffer.from(await raw.arrayBuffer()).equals(bytes)).toBe(true);
      }
    } finally {
      await server.stop('SIGTERM');
      await db.drop();
    }
  });

  it('refuses a corrupt blob, names it, and copies no rows', async () => {
    const source = await seed(2);
    const keys = await fs.readdir(path.join(source.dataDir, 'blobs', 'orig'), { recursive: true });
    const files = keys.map(String).filter((k) => /[0-9a-f]{64}$/.test(k));
    const corruptHash = path.basename(files[0] as string);
    const file = blobPath(source.dataDir, originalKey(corruptHash));
    const bytes = await fs.readFile(file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    await fs.writeFile(file, bytes);

    const db = await testDatabase();
    const result = await runCli(
      [
        'migrate-data',
        '--data-dir',
        source.dataDir,
        '--to-database',
        db.url,
        '--to-blobs',
        s3.blobsUrl('corrupt'),
      ],
      { env: TEST_S3_ENV },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`gazo: orig/${corruptHash} in the data dir is corrupt`);
    const { queryDatabase } = await import('./helpers/postgres.ts');
    expect(await queryDatabase(db.url, 'SELECT image_id FROM images')).toEqual([]);
    await db.drop();
  });

  it('refuses while a server holds the data dir', async () => {
    const dataDir = await makeDataDir();
    const server = await spawnServer(dataDir);
    const db = await testDatabase();
    try {
      const result = await runCli(
        ['migrate-data', '--data-dir', dataDir, '--to-database', db.url, '--to-blobs', s3.blobsUrl('other')],
        { env: TEST_S3_ENV },
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`another gazo serve (pid ${server.proc.pid}) is using ${dataDir}`);
    } finally {
      await server.stop('SIGTERM');
      await db.drop();
    }
  });
});
