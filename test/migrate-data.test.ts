import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originalKey } from '../src/blobs/blob-store.ts';
import { COPIED_TABLES, type CopiedTable } from '../src/store/data-copy.repository.ts';
import { openPostgresStore, openSqliteStore, SQLITE_FILE } from '../src/store/index.ts';
import type { MetadataStore } from '../src/store/types.ts';
import { gyazoForLinuxUpload, uploadOk, type WireImage } from './helpers/api.ts';
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
import { noisePng, solidJpeg, solidPng } from './helpers/images.ts';
import { queryDatabase, testDatabase } from './helpers/postgres.ts';
import { startTestS3, TEST_S3_ENV, type TestS3 } from './helpers/s3-server.ts';
import { makeDataDir, startServer } from './helpers/server.ts';
import { FormClient } from './helpers/web-forms.ts';

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

const migrateArgs = (dataDir: string, database: string, blobs: string) => [
  'migrate-data',
  '--data-dir',
  dataDir,
  '--to-database',
  database,
  '--to-blobs',
  blobs,
];

/** `gazo migrate-data` run to its end (credentials for the S3 test server in its environment). */
const migrate = (dataDir: string, database: string, blobs: string) =>
  runCli(migrateArgs(dataDir, database, blobs), { env: TEST_S3_ENV });

/** `gazo serve` on a migrated database (and bucket), from a data dir of its own. */
async function serveMigrated(dataDir: string, database: string, blobs?: string, ...flags: string[]) {
  const port = await freePort();
  return spawnServer(undefined, {
    port,
    env: TEST_S3_ENV,
    args: [
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--data-dir',
      dataDir,
      '--database',
      database,
      ...(blobs ? ['--blobs', blobs] : []),
      ...flags,
    ],
  });
}

describe('gazo migrate-data', () => {
  let s3: TestS3;
  beforeAll(async () => {
    s3 = await startTestS3(['moved', 'corrupt', 'other', 'held']);
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
    const args = migrateArgs(source.dataDir, db.url, s3.blobsUrl('moved'));
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
    expect(resumed.code, resumed.stderr).toBe(0);
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
      // The planner knows the copied rows at once (not when autovacuum gets there): a deep
      // page of 100,000 images took 33 ms on a table it took for empty, 0.4 ms after ANALYZE.
      const stats = new pg.Client({ connectionString: db.url });
      await stats.connect();
      try {
        const { rows } = await stats.query(
          `SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NULL AND relname = ANY($1)`,
          [Object.keys(COPIED_TABLES)],
        );
        expect(rows.map((r) => r.relname)).toEqual([]);
      } finally {
        await stats.end();
      }
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
    const moved = await serveMigrated(servingDir, db.url, s3.blobsUrl('moved'));
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
    const refused = await migrate(other.dataDir, db.url, s3.blobsUrl('other'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'the target database already holds users or images of another Gazo install',
    );
    expect(await objectsIn(s3, 'other')).toBe(0);
    await db.drop();
  });

  it('carries uploads waiting for a claim and devices nobody linked yet: claimed and linked there, byte-identical', {
    timeout: 120_000,
  }, async () => {
    // Long enough a claim window for the migration to happen within it.
    const source = await startServer({ legacyAnonymousDevices: true }, undefined, {
      runtime: { easyAuthTimes: { claimWindowMs: 10 * 60_000 } },
    });
    const user = await source.user('claims-after-move');
    const { app } = await source.rt.oauth.createApp(user.id, 'Capture tool', ['https://capture.example/cb']);
    const easyAuth = await fetch(`${source.url}/api/upload/easy_auth`, {
      method: 'POST',
      body: new URLSearchParams({
        client_id: app.client_id,
        image_url: `data:image/png;base64,${(await solidPng(14, 9, '#13579b')).toString('base64')}`,
      }),
    });
    expect(easyAuth.status).toBe(200);
    const claimLink = new URL((await easyAuth.json()).get_image_url);
    const fromDevice = await gyazoForLinuxUpload(source.url, { id: '' }, await solidPng(12, 8, '#2468ac'));
    expect(fromDevice.status, fromDevice.text).toBe(200);
    const heldKeys = await source.rt.store.heldImages.blobKeys();
    expect(heldKeys.length).toBe(2);
    const heldBytes = new Map<string, Buffer>();
    for (const key of heldKeys)
      heldBytes.set(key, await fs.readFile(blobPath(source.dataDir, originalKey(key))));
    await source.close();

    const db = await testDatabase();
    const migrated = await migrate(source.dataDir, db.url, s3.blobsUrl('held'));
    expect(migrated.code, migrated.stderr).toBe(0);
    // A held upload has its original only: its thumbnail is made once it is claimed.
    expect(migrated.stdout).toContain('(2 files copied, 0 already there');
    expect(await objectsIn(s3, 'held')).toBe(2);

    const moved = await serveMigrated(
      await makeDataDir(),
      db.url,
      s3.blobsUrl('held'),
      '--legacy-anonymous-devices',
    );
    try {
      // The device id the client keeps still uploads (held again, for the same device).
      const again = await gyazoForLinuxUpload(
        moved.url,
        { id: fromDevice.id ?? '' },
        await solidPng(10, 6, '#abcdef'),
      );
      expect(again.status, again.text).toBe(200);
      expect(again.id).toBe(fromDevice.id);

      const browser = await new FormClient(moved.url).signIn(user.name, user.password);
      const claimed = await fetch(new URL(claimLink.pathname + claimLink.search, moved.url), {
        redirect: 'manual',
        headers: { cookie: browser.cookies.join('; ') },
      });
      expect(claimed.status, await claimed.text()).toBe(302);
      // Linking the device (from the permalink the client opened before the move) brings its uploads.
      const linkPath = `${new URL(fromDevice.text).pathname}?token=${fromDevice.token}`;
      const page = await browser.get(linkPath);
      expect(page.status).toBe(200);
      const linked = await browser.post(
        '/devices/link',
        { image_id: new URL(fromDevice.text).pathname.slice(1), token: fromDevice.token ?? '' },
        page.csrf,
      );
      expect(linked.status, linked.html).toBe(303);

      const list = await fetch(`${moved.url}/api/images?access_token=${user.token}`);
      const images = (await list.json()) as WireImage[];
      expect(images.length).toBe(3);
      const served = new Set<string>();
      for (const image of images) {
        const raw = await fetch(new URL(new URL(image.url).pathname, moved.url));
        expect(raw.status).toBe(200);
        served.add(Buffer.from(await raw.arrayBuffer()).toString('hex'));
      }
      for (const bytes of heldBytes.values()) expect(served.has(bytes.toString('hex'))).toBe(true);
    } finally {
      await moved.stop('SIGTERM');
      await db.drop();
    }
  });

  it('knows every table of both dialects as copied or left out, and refuses a data dir with one it does not', async () => {
    const dataDir = await makeDataDir();
    const db = await testDatabase();
    const stores = [await openSqliteStore(dataDir), await openPostgresStore(db.url)];
    let sourceIdentity: string;
    try {
      sourceIdentity = (await (stores[0] as MetadataStore).dataCopy.identity()).id;
      for (const store of stores) {
        expect(await store.dataCopy.unlistedTables(), store.kind).toEqual([]);
        expect(await store.dataCopy.tables(), store.kind).toEqual(
          expect.arrayContaining(['users', 'held_images', 'anonymous_devices', 'pending_blobs']),
        );
      }
    } finally {
      for (const store of stores) await store.close();
    }

    // A table a later migration adds, in neither list: nothing is copied rather than it silently left out.
    const sqlite = new Database(path.join(dataDir, SQLITE_FILE));
    sqlite.exec('CREATE TABLE later_feature (id integer PRIMARY KEY)');
    sqlite.close();
    const refused = await migrate(dataDir, db.url, s3.blobsUrl('other'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('migrate-data does not know the table(s) later_feature of the data dir');
    // The target was not even claimed as this data dir's copy.
    expect(await queryDatabase(db.url, 'SELECT id FROM data_dir')).not.toEqual([{ id: sourceIdentity }]);
    await db.drop();
  });

  it('copies the bytes into a folder: the blobs of the data dir a server on PostgreSQL then uses', async () => {
    const source = await seed(2);
    const db = await testDatabase();
    const newDataDir = await makeDataDir();
    const result = await migrate(source.dataDir, db.url, path.join(newDataDir, 'blobs'));
    expect(result.stdout).toContain('migrated 2 users, 2 tokens, 2 images (4 files copied, 0 already there');
    const server = await serveMigrated(newDataDir, db.url);
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
    const result = await migrate(source.dataDir, db.url, s3.blobsUrl('corrupt'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`gazo: orig/${corruptHash} in the data dir is corrupt`);
    expect(await queryDatabase(db.url, 'SELECT image_id FROM images')).toEqual([]);
    await db.drop();
  });

  it('refuses while a server holds the data dir', async () => {
    const dataDir = await makeDataDir();
    const server = await spawnServer(dataDir);
    const db = await testDatabase();
    try {
      const result = await migrate(dataDir, db.url, s3.blobsUrl('other'));
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`another gazo serve (pid ${server.proc.pid}) is using ${dataDir}`);
    } finally {
      await server.stop('SIGTERM');
      await db.drop();
    }
  });
});
