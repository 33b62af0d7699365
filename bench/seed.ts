import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { loadConfig } from '../src/config.ts';
import { openRuntime } from '../src/runtime.ts';
import { SQLITE_FILE } from '../src/store/index.ts';

export interface Seeded {
  /** Owns `images` rows, for the list scenario. */
  listToken: string;
  /** Starts with none, for the upload and raw-file scenarios. */
  uploadToken: string;
  seconds: number;
}

/**
 * Makes a data dir with the real schema (the server's own migrations, through openRuntime), two
 * users with tokens, and `images` rows for the first user inserted straight into SQLite in one
 * transaction. The user's image_count and images_version are set as the upload path would have
 * left them.
 */
export async function seed(dataDir: string, images: number): Promise<Seeded> {
  const started = performance.now();
  const rt = await openRuntime(loadConfig({ dataDir, host: '127.0.0.1', port: 0 }, {}));
  let listUserId: number;
  let listToken: string;
  let uploadToken: string;
  try {
    listUserId = (await rt.accounts.createUser('bench-list')).id;
    listToken = (await rt.accounts.createToken('bench-list', 'bench')).token;
    await rt.accounts.createUser('bench-upload');
    uploadToken = (await rt.accounts.createToken('bench-upload', 'bench')).token;
  } finally {
    await rt.close();
  }

  const db = new SQLite(path.join(dataDir, SQLITE_FILE));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = OFF');
    const insert = db.prepare(`INSERT INTO images
      (image_id, user_id, blob_key, type, byte_size, width, height, created_at, uploaded_at,
       app, title, url, "desc", metadata_is_public, access_policy, ocr_locale, ocr_text)
      VALUES (?, ?, ?, 'png', ?, 1920, 1080, ?, ?, ?, ?, ?, ?, ?, 'anyone', NULL, '')`);
    const start = Date.UTC(2020, 0, 1);
    db.transaction(() => {
      for (let i = 0; i < images; i++) {
        // Oldest first, a minute apart, as a real history would have been inserted.
        const at = start + i * 60_000;
        insert.run(
          randomBytes(16).toString('hex'),
          listUserId,
          createHash('sha256').update(`bench-${i}`).digest('hex'),
          150_000 + (i % 100_000),
          at,
          at,
          i % 3 === 0 ? 'Google Chrome' : null,
          i % 2 === 0 ? `Screenshot of page ${i}` : null,
          i % 2 === 0 ? `https://example.com/articles/${i}` : null,
          i % 10 === 0 ? `note ${i}` : '',
          i % 2,
        );
      }
      db.prepare(
        'UPDATE users SET image_count = image_count + ?, images_version = images_version + 1 WHERE id = ?',
      ).run(images, listUserId);
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return { listToken, uploadToken, seconds: (performance.now() - started) / 1000 };
}
