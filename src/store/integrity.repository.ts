import SQLite from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { BLOB_GC_JOB, THUMBNAIL_JOB } from './images.repository.ts';
import type { Database } from './schema.ts';
import { limitOf } from './sql-limit.ts';
import type { ImageFileRow, IntegrityRepository } from './types.ts';

/** The queries behind `gazo fsck` and `gazo backup`: which files the rows need, and whose data this is. */
export class KyselyIntegrityRepository implements IntegrityRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async dataDirId(): Promise<string> {
    const row = await this.db.selectFrom('data_dir').select('id').executeTakeFirstOrThrow();
    return row.id;
  }

  async imageFiles(
    after: { blobKey: string; seq: number } | undefined,
    limit: number,
  ): Promise<ImageFileRow[]> {
    let query = this.db
      .selectFrom('images')
      .select(['seq', 'image_id', 'user_id', 'blob_key', 'byte_size', 'type', 'decode_error'])
      .orderBy('blob_key')
      .orderBy('seq')
      .limit(limitOf(limit));
    if (after) {
      query = query.where((eb) =>
        eb.or([
          eb('blob_key', '>', after.blobKey),
          eb.and([eb('blob_key', '=', after.blobKey), eb('seq', '>', after.seq)]),
        ]),
      );
    }
    return query.execute();
  }

  async imagesUsingBlob(blobKey: string): Promise<Array<{ image_id: string; user_id: number }>> {
    return this.db
      .selectFrom('images')
      .select(['image_id', 'user_id'])
      .where('blob_key', '=', blobKey)
      .orderBy('seq')
      .execute();
  }

  blobKeysAwaitingCollection(): Promise<string[]> {
    return this.blobKeysQueuedFor(BLOB_GC_JOB);
  }

  blobKeysAwaitingThumbnail(): Promise<string[]> {
    return this.blobKeysQueuedFor(THUMBNAIL_JOB);
  }

  private async blobKeysQueuedFor(kind: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('jobs')
      .select('payload')
      .where('kind', '=', kind)
      .where('failed_at', 'is', null)
      .execute();
    return rows.map((r) => String((JSON.parse(r.payload) as { blobKey?: unknown }).blobKey));
  }
}

/**
 * SQLite's own check of a database file: `quick` (quick_check: page structure, cheap enough for
 * every start) or `full` (integrity_check: also every index against its table). Runs on a
 * read-only connection of its own, before anything migrates or writes, so a server may keep
 * running on the file. An empty list means the file is sound; a file SQLite cannot even read is
 * a problem like any other.
 */
export async function checkDatabaseFile(file: string, depth: 'quick' | 'full'): Promise<string[]> {
  let db: SQLite.Database | undefined;
  try {
    db = new SQLite(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 10000');
    const rows = db.pragma(depth === 'quick' ? 'quick_check' : 'integrity_check') as Array<
      Record<string, string>
    >;
    const lines = rows.flatMap((r) => String(Object.values(r)[0]).split('\n')).filter((l) => l.trim() !== '');
    return lines.length === 1 && lines[0] === 'ok' ? [] : lines;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)/.test(code)) return [(err as Error).message];
    throw err;
  } finally {
    db?.close();
  }
}
