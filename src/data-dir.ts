import fs from 'node:fs/promises';

/**
 * Folders Gazo creates for its data (the data dir, a backup folder) are private to the user it
 * runs as: they hold password hashes and images marked `only_me`. A folder that already exists
 * keeps the mode its owner gave it.
 */
export async function makePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
}
