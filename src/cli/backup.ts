import path from 'node:path';
import { Command } from 'commander';
import { backupDataDir } from '../services/backup.service.ts';
import { badRequest } from '../services/errors.ts';
import { configFrom, READ_ONCE, requireDataDir, withDataDir, withRuntime } from './options.ts';

export function backupCommand(): Command {
  return withDataDir(
    new Command('backup')
      .argument('<dest>', 'folder to write the backup to: new, empty, or an earlier backup of this data dir')
      .description('copy the database and images to DEST while the server keeps running'),
  ).action(async (dest: string, options: { dataDir?: string; database?: string }) => {
    if (configFrom(options).database.kind === 'postgres') {
      throw badRequest(
        'gazo backup copies an embedded (SQLite) data dir; on PostgreSQL back up the database with pg_dump (pg_dump -Fc DBNAME > gazo.dump), and the bucket with its versioning or replication (or the blobs folder with any file backup); see docs/deploy.md, "Backups"',
      );
    }
    await requireDataDir(options);
    await withRuntime(
      options,
      async (rt) => {
        const target = path.resolve(dest);
        if (target === rt.config.dataDir)
          throw badRequest('the backup folder must not be the data dir itself');
        const result = await backupDataDir(
          { store: rt.store, blobs: rt.blobs, thumbSize: rt.config.thumbSize, dataDir: rt.config.dataDir },
          target,
        );
        process.stdout.write(
          `backed up ${result.images} images (${result.blobsCopied} files copied) to ${target}\n`,
        );
        if (result.missing.length === 0) return;
        for (const file of result.missing) {
          process.stderr.write(
            `missing in ${rt.config.dataDir}: ${file.kind} of image ${file.imageId} (${file.key})\n`,
          );
        }
        const files = new Set(result.missing.map((m) => m.key)).size;
        process.stderr.write(
          `gazo: the backup lacks ${files} files that images refer to: run gazo fsck --data-dir ${rt.config.dataDir}\n`,
        );
        process.exitCode = 1;
      },
      READ_ONCE,
    );
  });
}
