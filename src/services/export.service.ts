import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import type { ImageRow, UserRow } from '../store/schema.ts';
import type { MetadataStore } from '../store/types.ts';
import { badRequest, notFound } from './errors.ts';
import { EXPORT_INDEX, type ExportLine, exportFileName } from './export-format.ts';
import type { ImagesService } from './images.service.ts';
import { principalOf } from './principal.ts';
import type { ImageUrls } from './wire.ts';

export interface ExportResult {
  /** The folder or zip file written. */
  path: string;
  images: number;
  bytes: number;
}

interface ExportDeps {
  store: MetadataStore;
  images: ImagesService;
  urls: ImageUrls;
}

/** Receives the export's files, in a folder or a zip. */
interface ExportWriter {
  add(name: string, read: () => Promise<Buffer>, compress: boolean): Promise<void>;
  finish(): Promise<void>;
}

const PAGE = 100;

/** Every image of the users, newest first, each once even if uploads shift the pages meanwhile. */
async function* imagesOf(
  deps: ExportDeps,
  users: UserRow[],
): AsyncGenerator<{ user: UserRow; row: ImageRow }> {
  for (const listed of users) {
    const seen = new Set<string>();
    for (let page = 1; ; page++) {
      // Re-read the user: its count and version key the page cache the list relies on.
      const user = (await deps.store.users.findById(listed.id)) ?? listed;
      const { rows } = await deps.images.list(principalOf(user, 'local'), page, PAGE);
      for (const listed of rows) {
        if (seen.has(listed.image_id)) continue;
        seen.add(listed.image_id);
        // A page holds only what the image object shows; the export needs the whole row.
        const row = await deps.store.images.findByImageId(listed.image_id);
        if (row) yield { user, row };
      }
      if (rows.length < PAGE) break;
    }
  }
}

async function folderWriter(dest: string): Promise<ExportWriter> {
  const existing = await fsp.readdir(dest).catch(() => undefined);
  if (existing && existing.length > 0) throw badRequest(`${dest} exists and is not empty`);
  await fsp.mkdir(path.join(dest, 'images'), { recursive: true });
  return {
    async add(name, read) {
      // The index is written last, under a temporary name: a folder without it is no export.
      const file = path.join(dest, name);
      const tmp = name === EXPORT_INDEX ? `${file}.tmp` : file;
      await fsp.writeFile(tmp, await read());
      if (tmp !== file) await fsp.rename(tmp, file);
    },
    async finish() {},
  };
}

async function zipWriter(file: string): Promise<ExportWriter> {
  if (fs.existsSync(file)) throw badRequest(`${file} exists already`);
  const tmp = `${file}.tmp`;
  const zip = new yazl.ZipFile();
  const written = pipeline(zip.outputStream, fs.createWriteStream(tmp));
  written.catch(() => undefined); // awaited in finish(); this only keeps an early failure from being "unhandled"
  return {
    async add(name, read, compress) {
      // Lazily: yazl asks for each file when it is that file's turn, so one image is in memory at a time.
      zip.addReadStreamLazy(name, { compress }, (cb) => {
        read().then(
          (bytes) => cb(null, Readable.from([bytes])),
          (err: Error) => cb(err, undefined as never),
        );
      });
    },
    async finish() {
      zip.end();
      try {
        await written;
      } catch (err) {
        await fsp.rm(tmp, { force: true });
        throw err;
      }
      await fsp.rename(tmp, file);
    },
  };
}

/**
 * Writes the images of one user (or of every user) with their metadata: a folder `dest`, or
 * `dest.zip` with `zip`. Bytes are copied unchanged; `images.jsonl` comes last.
 */
export async function exportImages(
  deps: ExportDeps,
  dest: string,
  options: { user?: string; zip?: boolean },
): Promise<ExportResult> {
  let users: UserRow[];
  if (options.user !== undefined) {
    const user = await deps.store.users.findByName(options.user);
    if (!user) throw notFound(`No such user: ${options.user}`);
    users = [user];
  } else users = await deps.store.users.list();

  const target = options.zip ? (dest.endsWith('.zip') ? dest : `${dest}.zip`) : dest;
  const writer = options.zip ? await zipWriter(target) : await folderWriter(target);
  const lines: string[] = [];
  let bytes = 0;
  for await (const { user, row } of imagesOf(deps, users)) {
    const file = exportFileName(row.image_id, row.type);
    await writer.add(
      file,
      async () => {
        const data = await deps.images.readOriginal(row);
        if (!data) throw new Error(`the file of image ${row.image_id} is missing from the data dir`);
        return data;
      },
      false,
    );
    bytes += row.byte_size;
    const line: ExportLine = {
      ...deps.urls.toWire(row),
      file,
      metadata_is_public: row.metadata_is_public,
      created_at_ms: Number(row.created_at),
      user: user.name,
    };
    lines.push(JSON.stringify(line));
  }
  const index = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  await writer.add(EXPORT_INDEX, async () => Buffer.from(index), true);
  await writer.finish();
  return { path: target, images: lines.length, bytes };
}
