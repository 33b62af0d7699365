import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Where the folder blob store keeps `key` (`orig/<hash>`, `thumb/500/<hash>`) under a data dir. */
export function blobPath(dataDir: string, key: string): string {
  const slash = key.lastIndexOf('/');
  const hash = key.slice(slash + 1);
  return path.join(dataDir, 'blobs', key.slice(0, slash), hash.slice(0, 2), hash);
}

export async function sha256File(file: string): Promise<string> {
  return createHash('sha256')
    .update(await fs.readFile(file))
    .digest('hex');
}

/** Every file under `dir` with its SHA-256 and inode: compare before and after to see that nothing changed. */
export async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  for (const e of entries) {
    const file = path.join(e.parentPath, e.name);
    const rel = path.relative(dir, file);
    if (e.isDirectory()) out[rel] = 'dir';
    else out[rel] = `${(await fs.stat(file)).ino} ${await sha256File(file)}`;
  }
  return out;
}
