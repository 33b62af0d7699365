import fs from 'node:fs';
import { Command, Option } from 'commander';
import type { GazoImage } from '../../client/index.ts';
import { printImageDetails, printImageTable, printJson } from './output.ts';
import { profileClient } from './profile.ts';
import { progress } from './progress.ts';
import { positiveInt, UsageError } from './usage.ts';

/** Above this a single upload gets a progress bar too (on a terminal). */
const LARGE_UPLOAD_BYTES = 1024 * 1024;

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A file as a Blob read while it is sent; stat first, for an error that names the problem. */
async function openFile(file: string): Promise<Blob> {
  await fs.promises.stat(file);
  return fs.openAsBlob(file);
}

/** A command failed for some of its arguments: report each on stderr, exit 1 at the end. */
function reportFailure(what: string, err: unknown) {
  process.stderr.write(`gazo: ${what}: ${(err as Error).message}\n`);
  process.exitCode = 1;
}

function uploadCommand(): Command {
  return new Command('upload')
    .description('upload image files (or - for stdin) and print each permalink')
    .argument('<files...>', 'image files; - reads one image from stdin')
    .option('--title <title>', 'title')
    .option('--desc <desc>', 'description')
    .option('--private', 'visible to you only (access_policy only_me)')
    .option('--json', 'print the whole image object (one JSON object per line)')
    .action(
      async (
        files: string[],
        options: { title?: string; desc?: string; private?: boolean; json?: boolean },
      ) => {
        if (files.filter((f) => f === '-').length > 1)
          throw new UsageError('stdin (-) can be read only once');
        const client = await profileClient();
        const sizes = files.map((f) =>
          f === '-' ? 0 : (fs.statSync(f, { throwIfNoEntry: false })?.size ?? 0),
        );
        const totalBytes = sizes.reduce((a, b) => a + b, 0);
        // In bytes when every size is known up front (stdin's is not), else in files.
        const inBytes = !files.includes('-');
        const showBar =
          process.stdout.isTTY === true && (files.length > 1 || totalBytes > LARGE_UPLOAD_BYTES);
        const bar = progress(
          'uploading',
          inBytes ? totalBytes : files.length,
          showBar,
          inBytes ? 'bytes' : 'items',
        );
        let before = 0;
        try {
          for (const [i, file] of files.entries()) {
            try {
              const body = file === '-' ? await readStdin() : await openFile(file);
              const fileSize = sizes[i] ?? 0;
              const image = await client.upload(body, {
                title: options.title,
                desc: options.desc,
                accessPolicy: options.private ? 'only_me' : undefined,
                // The request is a little larger than the file (multipart framing): scale it.
                onProgress:
                  inBytes && showBar
                    ? (sent, total) => bar.update(before + Math.round((fileSize * sent) / Math.max(total, 1)))
                    : undefined,
              });
              bar.log(options.json ? JSON.stringify(image) : image.permalink_url);
            } catch (err) {
              reportFailure(file === '-' ? 'stdin' : file, err);
            }
            before += sizes[i] ?? 0;
            if (inBytes) bar.update(before);
            else bar.tick();
          }
        } finally {
          bar.stop();
        }
      },
    );
}

function listCommand(): Command {
  return new Command('list')
    .description('list your images, newest first')
    .addOption(new Option('--page <n>', 'page number').argParser(positiveInt).conflicts('all'))
    .addOption(new Option('--per-page <n>', 'images per page (1-100)').argParser(positiveInt))
    .option('--all', 'every image, all pages')
    .option('--json', 'print the image objects as a JSON array')
    .action(async (options: { page?: number; perPage?: number; all?: boolean; json?: boolean }) => {
      if (options.perPage !== undefined && options.perPage > 100)
        throw new UsageError('--per-page is at most 100');
      const client = await profileClient();
      if (options.all) {
        const images: GazoImage[] = [];
        for await (const image of client.listAll({ perPage: options.perPage ?? 100 })) images.push(image);
        if (options.json) printJson(images);
        else {
          printImageTable(images);
          process.stdout.write(`${images.length} images\n`);
        }
        return;
      }
      const page = await client.list({ page: options.page ?? 1, perPage: options.perPage ?? 20 });
      if (options.json) return printJson(page.images);
      printImageTable(page.images);
      const per = page.perPage ?? options.perPage ?? 20;
      const pages = page.totalCount === undefined ? '?' : Math.max(1, Math.ceil(page.totalCount / per));
      process.stdout.write(
        `page ${page.currentPage ?? options.page ?? 1} of ${pages} (${page.totalCount ?? '?'} images)\n`,
      );
    });
}

function searchCommand(): Command {
  return new Command('search')
    .description('search your images (title, description, app, source URL, text)')
    .argument('<query>', 'words that must all appear')
    .addOption(new Option('--page <n>', 'page number').argParser(positiveInt))
    .addOption(new Option('--per-page <n>', 'results per page (1-100)').argParser(positiveInt))
    .option('--json', 'print the image objects as a JSON array')
    .action(async (query: string, options: { page?: number; perPage?: number; json?: boolean }) => {
      const client = await profileClient();
      const result = await client.search(query, { page: options.page, perPage: options.perPage });
      if (options.json) return printJson(result.images);
      printImageTable(result.images);
      process.stdout.write(`${result.totalCount ?? result.images.length} found\n`);
    });
}

function getCommand(): Command {
  return new Command('get')
    .description("show an image's metadata, or save its bytes with -o")
    .argument('<image_id>', 'the image id')
    .option('-o, --output <file>', 'write the image file here (- for stdout)')
    .option('--json', 'print the image object')
    .action(async (imageId: string, options: { output?: string; json?: boolean }) => {
      const client = await profileClient();
      const image = await client.get(imageId);
      if (options.output === undefined) return options.json ? printJson(image) : printImageDetails(image);
      const bytes = await client.download(image.url);
      if (options.output === '-') {
        process.stdout.write(bytes);
        return;
      }
      await fs.promises.writeFile(options.output, bytes);
      process.stderr.write(`wrote ${bytes.length} bytes to ${options.output}\n`);
    });
}

function deleteCommand(): Command {
  return new Command('delete')
    .description('delete images')
    .argument('<image_ids...>', 'image ids')
    .option('--json', 'print each deleted image object (one JSON object per line)')
    .action(async (imageIds: string[], options: { json?: boolean }) => {
      const client = await profileClient();
      for (const imageId of imageIds) {
        try {
          const image = await client.delete(imageId);
          process.stdout.write(options.json ? `${JSON.stringify(image)}\n` : `deleted ${image.image_id}\n`);
        } catch (err) {
          reportFailure(imageId, err);
        }
      }
    });
}

export const imageCommands = () => [
  uploadCommand(),
  listCommand(),
  searchCommand(),
  getCommand(),
  deleteCommand(),
];
