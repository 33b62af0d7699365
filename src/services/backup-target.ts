import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { syncPath } from '../fsync.ts';
import { SQLITE_FILE } from '../store/index.ts';
import { badRequest } from './errors.ts';

/** Written by `gazo backup` into its folder: whose backup it is, and what it last wrote there. */
export const MARKER_FILE = 'gazo-backup.json';
/** The snapshot is written here, then renamed over gazo.sqlite once every file it needs is copied. */
export const PARTIAL_SQLITE = `${SQLITE_FILE}.partial`;

export interface BackupMarker {
  format: 1;
  /** The identity of the data dir this is a backup of (its database's `data_dir` row). */
  data_dir_id: string;
  /** Where that data dir was, for people reading the marker. */
  source: string;
  /** `writing` while a backup runs (or after one was interrupted); `complete` once it ended. */
  state: 'writing' | 'complete';
  started_at: string;
  finished_at?: string;
  /** SHA-256 of gazo.sqlite as the backup left it: a different file means someone used the folder. */
  database_sha256?: string;
}

/** What a backup folder holds; anything else in it is someone else's. */
const BACKUP_ENTRIES = new Set([
  MARKER_FILE,
  `${MARKER_FILE}.partial`,
  SQLITE_FILE,
  `${SQLITE_FILE}-wal`,
  `${SQLITE_FILE}-shm`,
  PARTIAL_SQLITE,
  `${PARTIAL_SQLITE}-wal`,
  `${PARTIAL_SQLITE}-shm`,
  'blobs',
]);

/**
 * Refuses (with a ServiceError saying why) a `dest` that holds anything but an earlier backup of
 * the data dir `sourceId`, as that backup left it. A missing or empty folder is fine; so is
 * `lost+found`, which every fresh file system has at its root.
 */
export async function checkBackupTarget(
  dest: string,
  source: { id: string; dataDir: string },
): Promise<void> {
  const inside = (a: string, b: string) => a === b || a.startsWith(`${b}${path.sep}`);
  if (inside(dest, source.dataDir))
    throw badRequest(`the backup folder must not be inside the data dir (${dest})`);
  if (inside(source.dataDir, dest))
    throw badRequest(`the backup folder must not contain the data dir (${dest})`);

  let entries: string[];
  try {
    entries = (await fs.readdir(dest)).filter((name) => name !== 'lost+found');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw badRequest(`${dest} is a file, not a folder`);
    throw err;
  }
  if (entries.length === 0) return;

  const marker = await readMarker(dest);
  if (!marker) {
    if (entries.includes(SQLITE_FILE)) {
      throw badRequest(
        `${dest} holds a Gazo data dir, not a backup of ${source.dataDir}; not writing over it`,
      );
    }
    const shown = entries.sort().slice(0, 5).join(', ') + (entries.length > 5 ? ', …' : '');
    throw badRequest(
      `${dest} is not empty and holds no Gazo backup (${shown}); choose an empty or new folder`,
    );
  }
  if (marker.data_dir_id !== source.id) {
    throw badRequest(
      `${dest} holds a backup of another data dir (${marker.source}, ${marker.finished_at ?? marker.started_at}); choose another folder`,
    );
  }
  // A server on a restored backup, or one that was stopped uncleanly, leaves these behind.
  if (entries.includes('serve.pid') || (await nonEmpty(path.join(dest, `${SQLITE_FILE}-wal`)))) {
    throw badRequest(`${dest} has been used as a data dir since the backup was written; not writing over it`);
  }
  const foreign = entries.filter((name) => !BACKUP_ENTRIES.has(name)).sort();
  if (foreign.length > 0) {
    throw badRequest(
      `${dest} holds files a backup does not write (${foreign.join(', ')}); not writing over them`,
    );
  }
  if (marker.state === 'complete' && marker.database_sha256 && entries.includes(SQLITE_FILE)) {
    if ((await sha256File(path.join(dest, SQLITE_FILE))) !== marker.database_sha256) {
      throw badRequest(
        `${dest}/${SQLITE_FILE} has changed since the backup of ${marker.finished_at} was written (was it used as a data dir?); not writing over it`,
      );
    }
  }
}

async function readMarker(dest: string): Promise<BackupMarker | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dest, MARKER_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const marker = JSON.parse(text) as BackupMarker;
    if (marker.format === 1 && typeof marker.data_dir_id === 'string') return marker;
  } catch {
    // Not ours: handled below, like a marker of an unknown format.
  }
  throw badRequest(
    `${path.join(dest, MARKER_FILE)} is not a marker this version of Gazo wrote; not writing there`,
  );
}

/** Replaces the marker atomically: a crash leaves the old one or the new one. */
export async function writeMarker(dest: string, marker: BackupMarker): Promise<void> {
  const file = path.join(dest, MARKER_FILE);
  const partial = `${file}.partial`;
  const handle = await fs.open(partial, 'w', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(marker, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(partial, file);
  await syncPath(dest);
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

const nonEmpty = (file: string) =>
  fs.stat(file).then(
    (s) => s.size > 0,
    () => false,
  );
