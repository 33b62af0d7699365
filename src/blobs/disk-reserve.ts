import fs from 'node:fs/promises';

/**
 * A file of real, allocated bytes kept in the data dir so that a full disk still leaves the
 * database room to write: SQLite needs a few pages of journal even to delete a row, and a
 * delete is how an operator makes room. When a write is about to fail for lack of space the
 * reserve is given up; it is taken again once there is room.
 */
export class DiskReserve {
  private present: boolean | undefined;

  constructor(
    readonly file: string,
    readonly bytes: number,
  ) {}

  /** Makes sure the reserve exists; false when there is no room for it now. */
  async ensure(): Promise<boolean> {
    if (this.present) return true;
    if (this.bytes <= 0) return false;
    const size = await fs.stat(this.file).then(
      (s) => s.size,
      () => -1,
    );
    this.present = size === this.bytes;
    if (this.present) return true;
    const chunk = Buffer.alloc(Math.min(this.bytes, 1024 * 1024));
    try {
      const handle = await fs.open(this.file, 'w', 0o600);
      try {
        for (let written = 0; written < this.bytes; written += chunk.length) {
          await handle.write(chunk, 0, Math.min(chunk.length, this.bytes - written));
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      this.present = true;
    } catch {
      await fs.rm(this.file, { force: true });
    }
    return this.present;
  }

  /** Frees the reserve's space; true when there was one to free. */
  async release(): Promise<boolean> {
    const had = await fs.stat(this.file).then(
      () => true,
      () => false,
    );
    await fs.rm(this.file, { force: true });
    this.present = false;
    return had;
  }
}
