import fs from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config.ts';
import { progress as progressBar } from './client/progress.ts';

/**
 * `gazo migrate-data`: copies an embedded data dir (SQLite and its blob folder) to PostgreSQL and
 * a bucket (or another folder). The source is locked like a server would lock it, so nothing
 * writes there meanwhile; run it again after an interruption and it carries on.
 */
export function migrateDataCommand(): Command {
  return new Command('migrate-data')
    .description('copy an embedded data dir (SQLite + folder) to PostgreSQL and an S3 bucket or folder')
    .requiredOption(
      '--to-database <url>',
      'the PostgreSQL database to copy into, postgres://… (empty, or this copy)',
    )
    .requiredOption(
      '--to-blobs <url>',
      'where the bytes go: s3://bucket?endpoint=…&region=… (credentials from AWS_*), or a folder (the blobs/ of the data dir the new servers use)',
    )
    .option('--data-dir <dir>', 'the data dir to copy from (env GAZO_DATA_DIR, default ./data)')
    .action(async (options: { toDatabase: string; toBlobs: string; dataDir?: string }) => {
      const [{ SQLITE_FILE, openSqliteStore, openStore }, { openBlobStore }, { LocalBlobStore }] =
        await Promise.all([
          import('../store/index.ts'),
          import('../blobs/open-blob-store.ts'),
          import('../blobs/local-blob-store.ts'),
        ]);
      const [{ migrateData }, { acquireServeLock }, { makePrivateDir }] = await Promise.all([
        import('../services/migrate-data.service.ts'),
        import('./serve-lock.ts'),
        import('../data-dir.ts'),
      ]);
      const toS3 = options.toBlobs.startsWith('s3:');
      let config: ReturnType<typeof loadConfig>;
      try {
        // GAZO_DATABASE_URL and GAZO_BLOBS name where a server runs, not this command's source.
        const env = { ...process.env, GAZO_DATABASE_URL: undefined, GAZO_BLOBS: undefined };
        config = loadConfig(
          { dataDir: options.dataDir, database: options.toDatabase, ...(toS3 && { blobs: options.toBlobs }) },
          env,
        );
      } catch (err) {
        throw new ConfigError((err as Error).message);
      }
      if (config.database.kind !== 'postgres')
        throw new ConfigError('--to-database must be a postgres://… URL');
      const { dataDir } = config;
      try {
        await fs.access(path.join(dataDir, SQLITE_FILE));
      } catch {
        throw new ConfigError(`no Gazo data dir at ${dataDir} (it has no ${SQLITE_FILE})`);
      }
      const sourceBlobsDir = path.join(dataDir, 'blobs');
      let targetFolder: string | undefined;
      if (!toS3) {
        targetFolder = path.resolve(options.toBlobs.replace(/^file:\/\//, ''));
        if (targetFolder === sourceBlobsDir || targetFolder === dataDir)
          throw new ConfigError('--to-blobs must be another folder than the data dir and its blobs');
      }

      const release = await acquireServeLock(dataDir);
      const opened: Array<{ close(): Promise<void> }> = [];
      try {
        const source = await openSqliteStore(dataDir);
        opened.push(source);
        const target = await openStore(config.database, dataDir);
        opened.push(target);
        let targetBlobs: InstanceType<typeof LocalBlobStore> | Awaited<ReturnType<typeof openBlobStore>>;
        if (targetFolder) {
          await makePrivateDir(targetFolder);
          targetBlobs = new LocalBlobStore(targetFolder);
        } else targetBlobs = await openBlobStore(dataDir, config.blobs);

        let bar: ReturnType<typeof progressBar> | undefined;
        const notes: string[] = [];
        const result = await migrateData(
          { store: source, blobs: new LocalBlobStore(sourceBlobsDir) },
          { store: target, blobs: targetBlobs },
          { thumbSize: config.thumbSize },
          {
            start: (label, total) => {
              bar = progressBar(label, total, process.stderr.isTTY === true);
            },
            tick: (n) => bar?.tick(n),
            note: (line) => notes.push(line),
            stop: () => bar?.stop(),
          },
        );
        for (const line of notes) process.stderr.write(`gazo: ${line}\n`);
        const { rows } = result;
        process.stdout.write(
          `migrated ${rows.users} users, ${rows.access_tokens} tokens, ${rows.images} images ` +
            `(${result.blobsCopied} files copied, ${result.blobsVerified} already there and verified)\n`,
        );
      } finally {
        for (const store of opened.reverse()) await store.close();
        await release();
      }
    });
}
