import path from 'node:path';
import { Command } from 'commander';
import { backupDataDir } from '../services/backup.service.ts';
import { badRequest } from '../services/errors.ts';
import { withDataDir, withRuntime } from './options.ts';

export function backupCommand(): Command {
  return withDataDir(
    new Command('backup')
      .argument('<dest>', 'folder to write the backup to (a data dir of its own)')
      .description('copy the database and images to DEST while the server keeps running'),
  ).action(async (dest: string, options: { dataDir?: string }) => {
    await withRuntime(options, async (rt) => {
      const target = path.resolve(dest);
      if (target === rt.config.dataDir) throw badRequest('the backup folder must not be the data dir itself');
      const { images, blobsCopied } = await backupDataDir(rt.store, rt.blobs, rt.config.thumbSize, target);
      process.stdout.write(`backed up ${images} images (${blobsCopied} files copied) to ${target}\n`);
    });
  });
}
