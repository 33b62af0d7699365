import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigError } from '../config.ts';
import type { FsckSummary } from '../services/fsck.service.ts';
import { configFrom, READ_ONCE, requireDataDir, withDataDir, withRuntime } from './options.ts';

export function fsckCommand(): Command {
  return withDataDir(
    new Command('fsck')
      .description("check the database and that every image's files are there and intact")
      .option('--repair', 're-make missing or broken thumbnails and remove unreferenced files (never a row)')
      .option(
        '--blobs <url>',
        'the image bytes are in an S3-compatible bucket: s3://bucket?endpoint=…&region=… (env GAZO_BLOBS, default the data dir)',
      ),
  ).action(async (options: { dataDir?: string; repair?: boolean; blobs?: string }) => {
    await requireDataDir(options);
    const [{ checkDatabaseFile }, { SQLITE_FILE }, { DataDirCheck, formatProblem }] = await Promise.all([
      import('../store/integrity.repository.ts'),
      import('../store/index.ts'),
      import('../services/fsck.service.ts'),
    ]);
    const out = (line: string) => process.stdout.write(`${line}\n`);
    const config = configFrom(options);

    // SQLite's own check comes first, on its own connection: opening the store migrates, and a
    // corrupt file may not survive that. PostgreSQL checks its own pages (amcheck is the DBA's).
    const database =
      config.database.kind === 'sqlite'
        ? await checkDatabaseFile(path.join(config.dataDir, SQLITE_FILE), 'full')
        : [];
    for (const line of database) out(`database: ${line}`);
    let summary: FsckSummary;
    try {
      summary = await withRuntime(
        options,
        (rt) =>
          new DataDirCheck(rt.store, rt.blobs, rt.collector, {
            thumbSize: rt.config.thumbSize,
            maxPixels: rt.config.limits.maxPixels,
          }).run({ repair: options.repair === true }, (problem) => out(formatProblem(problem))),
        READ_ONCE,
      );
    } catch (err) {
      if (database.length === 0) throw err;
      out(`database: cannot read the images (${(err as Error).message})`);
      out(
        `fsck: the database is corrupt, ${count(database.length + 1, 'problem')}; restore it from a backup`,
      );
      process.exitCode = 1;
      return;
    }
    const problems = summary.problems + database.length;
    const found = problems === 0 ? 'no problems' : count(problems, 'problem');
    const repaired = options.repair && problems > 0 ? `, ${summary.repaired} repaired` : '';
    out(
      `fsck: ${count(summary.images, 'image')} and ${count(summary.files, 'file')} checked, ${found}${repaired}`,
    );
    if (problems > summary.repaired) process.exitCode = 1;
  });
}

const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

/**
 * For `gazo serve`: SQLite's quick_check (page structure; seconds for gigabytes, unlike the full
 * integrity_check of fsck) before anything is opened for writing. A corrupt database is not
 * served: every write could spread the damage.
 */
export async function refuseCorruptDatabase(dataDir: string): Promise<void> {
  const [{ checkDatabaseFile }, { SQLITE_FILE }] = await Promise.all([
    import('../store/integrity.repository.ts'),
    import('../store/index.ts'),
  ]);
  const file = path.join(dataDir, SQLITE_FILE);
  if (!fs.existsSync(file)) return;
  const problems = await checkDatabaseFile(file, 'quick');
  if (problems.length === 0) return;
  const shown = problems.slice(0, 10).map((p) => `  ${p}`);
  if (problems.length > 10) shown.push(`  … and ${problems.length - 10} more`);
  throw new ConfigError(
    `the database ${file} is corrupt; not serving it. Run gazo fsck --data-dir ${dataDir} to see the damage, and restore from a backup. SQLite says:\n${shown.join('\n')}`,
  );
}
