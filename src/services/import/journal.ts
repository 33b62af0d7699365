import fs from 'node:fs/promises';
import path from 'node:path';
import type { ImportLedger } from './engine.ts';
import { importKey } from './engine.ts';
import type { ImportItem } from './items.ts';

interface JournalLine {
  source: string;
  id: string;
  /** Present once the upload was acknowledged. */
  image_id?: string;
}

/**
 * The ledger of imports into a server reached over HTTP, kept in a local file: the Gyazo API has
 * no field to record a source image id in, and a file works against any target (gyazo.com
 * too). One JSON line per event, appended and flushed before the next step, so a run killed at
 * any point leaves a readable file (a torn last line is ignored).
 */
export class JournalLedger implements ImportLedger {
  /** Opened once, by the first append; concurrent appends share it. */
  private handle: Promise<fs.FileHandle> | undefined;

  /** Target image ids the journal gives to some source image: never the copy of another. */
  readonly claimed = new Set<string>();

  constructor(readonly file: string) {}

  async load() {
    const done = new Set<string>();
    const begun = new Set<string>();
    let text = '';
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const raw of text.split('\n')) {
      let line: JournalLine;
      try {
        line = JSON.parse(raw) as JournalLine;
      } catch {
        continue;
      }
      if (typeof line.source !== 'string' || typeof line.id !== 'string') continue;
      const key = importKey({ source: line.source, sourceId: line.id });
      if (line.image_id) {
        this.claimed.add(line.image_id);
        done.add(key);
        begun.delete(key);
      } else if (!done.has(key)) begun.add(key);
    }
    return { done, begun };
  }

  begin(item: ImportItem) {
    return this.append({ source: item.source, id: item.sourceId });
  }

  finish(item: ImportItem, imageId: string) {
    this.claimed.add(imageId);
    return this.append({ source: item.source, id: item.sourceId, image_id: imageId });
  }

  async close() {
    const handle = this.handle;
    this.handle = undefined;
    await (await handle)?.close();
  }

  private async open(): Promise<fs.FileHandle> {
    await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const handle = await fs.open(this.file, 'a', 0o600);
    // A torn line from a killed run must not swallow the first line of this one.
    const { size } = await handle.stat();
    if (size > 0) await handle.write('\n');
    return handle;
  }

  private async append(line: JournalLine) {
    this.handle ??= this.open();
    const handle = await this.handle;
    // One write per line: appends from concurrent uploads never interleave within a line.
    await handle.write(`${JSON.stringify(line)}\n`);
    await handle.datasync();
  }
}

/** `$XDG_STATE_HOME/gazo/imports/<target host>-<target user uid>.jsonl`. */
export function journalFile(stateHome: string, targetHost: string, targetUid: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return path.join(stateHome, 'gazo', 'imports', `${safe(targetHost)}-${safe(targetUid)}.jsonl`);
}
