import fs from 'node:fs/promises';

/**
 * fsyncs the file or folder at `target` through a descriptor of its own (`fdatasync` with
 * `dataOnly`). A file's dirty pages are the file's, whoever wrote them, so this makes durable
 * what another descriptor (or SQLite) wrote; a folder's sync makes a rename in it durable.
 */
export async function syncPath(target: string, { dataOnly = false } = {}): Promise<void> {
  const handle = await fs.open(target, 'r');
  try {
    await (dataOnly ? handle.datasync() : handle.sync());
  } finally {
    await handle.close();
  }
}
