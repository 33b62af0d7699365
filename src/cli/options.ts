import type { Command } from 'commander';
import { type Config, type ConfigInput, loadConfig } from '../config.ts';
import type { Runtime } from '../runtime.ts';
import type { AccountsService } from '../services/accounts.service.ts';
import type { UsersService } from '../services/users.service.ts';

/** Every command takes --data-dir (env GAZO_DATA_DIR) and --database (env GAZO_DATABASE_URL). */
export const withDataDir = (command: Command) =>
  command
    .option('--data-dir <dir>', 'where the database and images live (env GAZO_DATA_DIR, default ./data)')
    .option(
      '--database <url>',
      'keep the metadata in PostgreSQL, postgres://… (env GAZO_DATABASE_URL; default SQLite in the data dir)',
    );

export function configFrom(options: ConfigInput): Config {
  return loadConfig(options, process.env);
}

// Modules are imported when a command runs, not when the CLI starts: `gazo --help` or
// `gazo token create` should not pay for loading the HTTP server and the image codecs.

/**
 * For commands that read an existing data dir (backup, fsck): a mistyped --data-dir should be an
 * error, not a new empty data dir.
 */
export async function requireDataDir(options: ConfigInput): Promise<void> {
  const [{ default: fs }, { default: path }, { SQLITE_FILE }, { badRequest }] = await Promise.all([
    import('node:fs/promises'),
    import('node:path'),
    import('../store/index.ts'),
    import('../services/errors.ts'),
  ]);
  const { dataDir, database, blobs } = configFrom(options);
  if (database.kind === 'postgres') {
    // Metadata and bytes elsewhere: the data dir is only where uploads are staged.
    if (blobs.kind === 's3') return;
    // The metadata is elsewhere; the data dir still holds the blobs.
    if (!(await fs.stat(path.join(dataDir, 'blobs')).catch(() => undefined))?.isDirectory())
      throw badRequest(`no Gazo data dir at ${dataDir} (it has no blobs folder)`);
    return;
  }
  try {
    await fs.access(path.join(dataDir, SQLITE_FILE));
  } catch {
    throw badRequest(`no Gazo data dir at ${dataDir} (it has no ${SQLITE_FILE})`);
  }
}

/** For commands that read every image once (fsck, backup): a cache would only cost memory. */
export const READ_ONCE: Partial<Config> = { imageCacheBytes: 0 };

/**
 * Opens the data dir, runs `work`, and closes it again, for the one-shot commands. `overrides`
 * change settings no flag reaches, e.g. no image cache for a command that reads each file once.
 */
export async function withRuntime<T>(
  options: ConfigInput,
  work: (rt: Runtime) => Promise<T>,
  overrides: Partial<Config> = {},
): Promise<T> {
  const { openRuntime } = await import('../runtime.ts');
  const rt = await openRuntime({ ...configFrom(options), ...overrides });
  try {
    return await work(rt);
  } finally {
    await rt.close();
  }
}

/** Opens only the metadata store, for the user, token and device commands. */
export async function withAccounts<T>(options: ConfigInput, work: (accounts: AccountsService) => Promise<T>) {
  const [{ openStore }, { AccountsService }] = await Promise.all([
    import('../store/index.ts'),
    import('../services/accounts.service.ts'),
  ]);
  const config = configFrom(options);
  const store = await openStore(config.database, config.dataDir);
  try {
    return await work(new AccountsService(store));
  } finally {
    await store.close();
  }
}

/** Opens only the metadata store, for the commands that change a user's standing. */
export async function withUsers<T>(options: ConfigInput, work: (users: UsersService) => Promise<T>) {
  const [{ openStore }, { SessionsService }, { UsersService }] = await Promise.all([
    import('../store/index.ts'),
    import('../services/sessions.service.ts'),
    import('../services/users.service.ts'),
  ]);
  const config = configFrom(options);
  const store = await openStore(config.database, config.dataDir);
  try {
    return await work(new UsersService(store, new SessionsService(store)));
  } finally {
    await store.close();
  }
}

const iso = (ms: number | null) =>
  ms === null ? '-' : new Date(Number(ms)).toISOString().replace('.000Z', 'Z');

/** Prints rows as aligned columns under a header. */
export function printTable(
  header: string[],
  rows: Array<Array<string | number | null>>,
  out = process.stdout,
) {
  const cells = [header, ...rows.map((r) => r.map((c) => (c === null ? '-' : String(c))))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  for (const row of cells)
    out.write(
      `${row
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd()}\n`,
    );
}

export { iso };
