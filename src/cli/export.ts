import { Command } from 'commander';
import { withDataDir, withRuntime } from './options.ts';

export function exportCommand(): Command {
  return withDataDir(
    new Command('export')
      .argument('<dest>', 'folder to write (or DEST.zip with --zip)')
      .description('write image files and images.jsonl for one user (or all), to import elsewhere')
      .option('--user <name>', 'only this user’s images')
      .option('--zip', 'write DEST.zip instead of a folder'),
  ).action(async (dest: string, options: { dataDir?: string; user?: string; zip?: boolean }) => {
    const { exportImages } = await import('../services/export.service.ts');
    await withRuntime(options, async (rt) => {
      const result = await exportImages(rt, dest, options);
      process.stdout.write(`exported ${result.images} images (${result.bytes} bytes) to ${result.path}\n`);
    });
  });
}
