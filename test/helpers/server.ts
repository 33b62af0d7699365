import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyServerOptions } from 'fastify';
import { type Config, type ConfigInput, loadConfig } from '../../src/config.ts';
import { buildApp } from '../../src/http/app.ts';
import { openRuntime, type Runtime, type RuntimeOptions } from '../../src/runtime.ts';
import { openStore } from '../../src/store/index.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { serverDatabaseFor } from './postgres.ts';

export interface TestServer {
  url: string;
  rt: Runtime;
  config: Config;
  dataDir: string;
  /** Creates a user and a token for it; the user can sign in on the web with `password`. */
  user(name?: string): Promise<{ name: string; token: string; id: number; password: string }>;
  /** Every file under the blob folder, relative to it (tmp files included), once queued jobs have run. */
  blobFiles(): Promise<string[]>;
  /** Waits until no job is queued (thumbnails made, blobs collected). */
  settle(): Promise<void>;
  imageCount(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The metadata store of a data dir's test servers, opened by hand: SQLite in it, or its
 * PostgreSQL database under GAZO_TEST_STORE=postgres.
 */
export async function openDataDirStore(dataDir: string): Promise<MetadataStore> {
  const url = await serverDatabaseFor(dataDir);
  return openStore(url ? { kind: 'postgres', url } : { kind: 'sqlite' }, dataDir);
}

export async function makeDataDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'gazo-test-'));
}

let userSeq = 0;

/**
 * A real Gazo server: real SQLite (or PostgreSQL, see postgres.ts) in a fresh temporary data dir, real files, listening on
 * 127.0.0.1 on a random port. `overrides` are the same inputs the CLI flags give.
 */
export async function startServer(
  overrides: ConfigInput = {},
  existingDataDir?: string,
  options: { logger?: FastifyServerOptions['logger']; runtime?: RuntimeOptions } = {},
): Promise<TestServer> {
  const dataDir = existingDataDir ?? (await makeDataDir());
  // Port 0 picks a free port; the public URL is fixed up once we know it.
  // OCR costs a second an image: only the tests that read text turn it on (`ocr: true`).
  // GAZO_TEST_STORE=postgres: the metadata in PostgreSQL (see postgres.ts).
  overrides = { ocr: false, database: await serverDatabaseFor(dataDir), ...overrides };
  const provisional = loadConfig({ host: '127.0.0.1', port: 0, dataDir, ...overrides }, {});
  const rt = await openRuntime(provisional, options.runtime);
  const app = await buildApp(rt, options);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  const url = `http://127.0.0.1:${address.port}`;
  const config = loadConfig(
    { host: '127.0.0.1', port: address.port, dataDir, baseUrl: url, ...overrides },
    {},
  );
  // Services hold the urls object: update it in place.
  Object.assign(provisional.urls, config.urls);
  rt.worker.start();
  const settle = async () => {
    const deadline = Date.now() + 20_000;
    while ((await rt.store.jobs.countPending()) > 0) {
      if (Date.now() > deadline) throw new Error('jobs did not settle within 20 s');
      await rt.worker.drain();
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  return {
    url,
    rt,
    config,
    dataDir,
    async user(name = `user${++userSeq}`) {
      const password = `pw-${name}-secret`;
      const row = await rt.accounts.createUser(name, { password });
      const { token } = await rt.accounts.createToken(name);
      return { name, token, id: row.id, password };
    },
    settle,
    async blobFiles() {
      await settle();
      const root = path.join(dataDir, 'blobs');
      const entries = await fs.readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
      return entries
        .filter((e) => e.isFile())
        .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
        .sort();
    },
    imageCount: () => rt.store.images.countAll(),
    async close() {
      // A client that left a streamed response unread would hold close() open for ever.
      const force = setTimeout(() => app.server.closeAllConnections(), 5000);
      await app.close();
      clearTimeout(force);
      await rt.close();
    },
  };
}

/** Builds a multipart body with fetch's FormData; `file` parts get a filename and type of our choosing. */
export function form(fields: Record<string, string | { data: Buffer; filename?: string; type?: string }>) {
  const body = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value === 'string') body.append(name, value);
    else
      body.append(
        name,
        new Blob([new Uint8Array(value.data)], { type: value.type ?? '' }),
        value.filename ?? 'gyazo.com',
      );
  }
  return body;
}
