import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { badRequest } from '../errors.ts';
import { EXPORT_INDEX, type ExportLine, SAFE_EXPORT_FILE } from '../export-format.ts';
import type { ImportSource } from './engine.ts';
import { type ImportItem, toImportItem } from './items.ts';

/** Reads files out of an export: a folder, or a zip of the same tree. */
interface ExportReader {
  read(name: string): Promise<Buffer>;
  close(): Promise<void>;
}

async function readStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function zipReader(file: string): Promise<ExportReader> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, autoClose: false }, (err, z) => (err ? reject(err) : resolve(z))),
  );
  const entries = new Map<string, yauzl.Entry>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      entries.set(entry.fileName, entry);
      zip.readEntry();
    });
    zip.on('end', () => resolve());
    zip.on('error', reject);
    zip.readEntry();
  });
  return {
    async read(name) {
      const entry = entries.get(name);
      if (!entry) throw new Error(`${name} is not in ${file}`);
      const stream = await new Promise<Readable>((resolve, reject) =>
        zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s))),
      );
      return readStream(stream);
    },
    async close() {
      zip.close();
    },
  };
}

function folderReader(dir: string): ExportReader {
  return { read: (name) => fs.readFile(path.join(dir, name)), close: async () => undefined };
}

/** What `gazo export` wrote: DEST (a folder), DEST as a zip file, or DEST.zip. */
export async function openExport(dest: string): Promise<ExportSource> {
  for (const candidate of [dest, `${dest}.zip`]) {
    const stat = await fs.stat(candidate).catch(() => undefined);
    if (!stat) continue;
    const reader = stat.isDirectory() ? folderReader(candidate) : await zipReader(candidate);
    let index: Buffer;
    try {
      index = await reader.read(EXPORT_INDEX);
    } catch {
      await reader.close();
      throw badRequest(`${candidate} has no ${EXPORT_INDEX}: not a finished gazo export`);
    }
    return new ExportSource(reader, parseIndex(index.toString('utf8'), candidate));
  }
  throw badRequest(`no export at ${dest}`);
}

function parseIndex(text: string, where: string): ExportLine[] {
  const lines: ExportLine[] = [];
  for (const [n, raw] of text.split('\n').entries()) {
    if (raw.trim() === '') continue;
    let line: ExportLine;
    try {
      line = JSON.parse(raw) as ExportLine;
    } catch {
      throw badRequest(`${where}: line ${n + 1} of ${EXPORT_INDEX} is not JSON`);
    }
    if (
      typeof line.image_id !== 'string' ||
      typeof line.file !== 'string' ||
      !SAFE_EXPORT_FILE.test(line.file)
    )
      throw badRequest(`${where}: line ${n + 1} of ${EXPORT_INDEX} names no image file inside the export`);
    lines.push(line);
  }
  return lines;
}

export class ExportSource implements ImportSource {
  private readonly files = new Map<string, string>();

  constructor(
    private readonly reader: ExportReader,
    private readonly lines: ExportLine[],
  ) {}

  total() {
    return this.lines.length;
  }

  async *items(): AsyncGenerator<ImportItem> {
    for (const line of this.lines) {
      const item = toImportItem(line, 'export');
      this.files.set(item.sourceId, line.file);
      // The file stands in for the URL: the export holds the bytes of every image it lists.
      yield { ...item, url: line.file };
    }
  }

  fetch(item: ImportItem): Promise<Uint8Array> {
    const file = this.files.get(item.sourceId);
    if (!file) throw new Error(`no file for ${item.sourceId}`);
    return this.reader.read(file);
  }

  close() {
    return this.reader.close();
  }
}
