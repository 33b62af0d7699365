import { expect, it } from 'vitest';
import { parseSearchQuery } from '../../src/services/search-query.ts';
import { SEARCH_COUNT_AHEAD } from '../../src/store/image-search.ts';
import { BLOB_GC_JOB, PendingUploadReclaimed } from '../../src/store/images.repository.ts';
import type { ImageRow, NewImageRow } from '../../src/store/schema.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { imageRow } from '../helpers/rows.ts';
import { forEachStore } from './stores.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 4, 20);

const insert = async (store: MetadataStore, row: NewImageRow) =>
  store.images.insert(row, await store.blobLedger.addPending(row.blob_key, Date.now()));

const user = async (store: MetadataStore, name: string) =>
  (await store.users.create({ uid: name, name, email: null, passwordHash: null })).id;

const owner = async (store: MetadataStore, id: number) => {
  const row = await store.users.findById(id);
  if (!row) throw new Error('no user');
  return row;
};

/** What the search language promises, written out: a term is a substring of its field (or any). */
const CORPUS: Array<Partial<NewImageRow> & { key: string }> = [
  { key: 'chrome', title: 'Quarterly Report', app: 'Google Chrome', url: 'https://example.com/q3?x=1' },
  {
    key: 'terminal',
    title: 'build log',
    app: 'Terminal',
    desc: 'npm ERR! 100% done_ok',
    ocr_text: 'Error: ENOENT',
  },
  { key: 'japanese', title: 'スクリーンショット', desc: '東京の地図', ocr_text: '日本語のテキスト' },
  { key: 'mixed', title: 'Éclair recipe', desc: 'ab cd', app: 'Safari', ocr_text: 'Apple pie' },
  { key: 'plain', title: null, desc: '', app: null, url: null, ocr_text: '' },
  { key: 'late', title: 'report draft', app: 'Chrome', created_at: T0 + 3 * DAY },
  // Short values and short text at the very end of one: found through the index on SQLite.
  { key: 'short', title: '京都', app: 'Zq', alt_text: 'a', ocr_text: 'なまえ 山' },
];

/** Query → the keys it finds, newest first (ties: the later insert first). */
const EXPECTED: Array<[string, string[]]> = [
  ['report', ['late', 'chrome']],
  ['REPORT', ['late', 'chrome']],
  ['title:report', ['late', 'chrome']],
  ['app:chrome', ['late', 'chrome']],
  ['app:"Google Chrome"', ['chrome']],
  ['"Google Chrome"', ['chrome']],
  ['url:example.com/q3', ['chrome']],
  ['https://example.com', ['chrome']],
  ['100%', ['terminal']],
  ['%', ['terminal']],
  ['_', ['terminal']],
  ['done_ok', ['terminal']],
  ['enoent', ['terminal']],
  ['ERR!', ['terminal']],
  ['東京', ['japanese']],
  ['地', ['japanese']],
  ['日本語', ['japanese']],
  ['スクリーン', ['japanese']],
  ['title:東京', []],
  ['desc:東京', ['japanese']],
  ['éclair', ['mixed']],
  ['ÉCLAIR', ['mixed']],
  // One or two characters fold ASCII letters only, on both (SQLite's LIKE).
  ['é', []],
  ['É', ['mixed']],
  ['Éc', ['mixed']],
  ['ab', ['mixed']],
  ['AB', ['mixed']],
  ['desc:"ab cd"', ['mixed']],
  ['b c', ['mixed']],
  ['apple pie', ['mixed']],
  ['pie apple', ['mixed']],
  ['x', ['chrome']],
  ['X=1', ['chrome']],
  ['report since:2024-05-22', ['late']],
  ['report until:2024-05-21', ['chrome']],
  ['date:2024-05-23', ['late']],
  ['since:2024-05-20', ['late', 'short', 'plain', 'mixed', 'japanese', 'terminal', 'chrome']],
  ['京都', ['short']],
  ['title:京都', ['short']],
  ['desc:京都', []],
  ['都', ['short']],
  ['京', ['short', 'japanese']],
  ['山', ['short']],
  ['え 山', ['short']],
  ['zq', ['short']],
  ['ZQ', ['short']],
  ['app:z', ['short']],
  ['alt:a', ['short']],
  ['q', ['short', 'chrome']],
  ['"a"', ['late', 'short', 'mixed', 'terminal', 'chrome']],
  ['地 京', ['japanese']],
  ['地 山', []],
  ['\u0001', []],
  ['ぬ', []],
  ['NEAR OR (x)', []],
  ['title:* ', []],
  ['"', []],
  ['nothing-like-this', []],
];

forEachStore('images', (t) => {
  it('inserts, finds and deletes images with domain values, and counts them for their owner', async () => {
    const id = await user(t.store, 'alice');
    const row = await insert(t.store, imageRow(id, T0, { metadata_is_public: true, title: 'x' }));
    expect(row.metadata_is_public).toBe(true);
    expect(typeof row.created_at).toBe('number');
    expect(typeof row.seq).toBe('number');
    const found = (await t.store.images.findByImageId(row.image_id)) as ImageRow;
    expect(found).toEqual(row);
    expect((await t.store.images.findByBlobKey(row.blob_key))?.image_id).toBe(row.image_id);
    const hidden = await insert(t.store, imageRow(id, T0 + 1));
    expect((await t.store.images.findByImageId(hidden.image_id))?.metadata_is_public).toBe(false);
    expect(await t.store.images.countAll()).toBe(2);
    expect((await owner(t.store, id)).image_count).toBe(2);
    expect((await t.store.images.allBlobKeys()).sort()).toEqual([row.blob_key, hidden.blob_key].sort());

    const other = await user(t.store, 'bob');
    expect(await t.store.images.delete(row.image_id, other)).toBeUndefined();
    const deleted = await t.store.images.delete(row.image_id, id);
    expect(deleted?.metadata_is_public).toBe(true);
    expect(await t.store.images.findByImageId(row.image_id)).toBeUndefined();
    expect((await owner(t.store, id)).image_count).toBe(1);
    // Its blob, unused now, is queued for collection in the same transaction.
    expect(await t.store.integrity.blobKeysAwaitingCollection()).toEqual([row.blob_key]);
    expect((await t.store.jobs.counts(Date.now())).find((c) => c.kind === BLOB_GC_JOB)?.pending).toBe(1);
  });

  it('lists newest first, the same rows at every depth (bookmarked pages) as one long walk', async () => {
    const id = await user(t.store, 'pager');
    const n = 430;
    const ids: string[] = [];
    // Many equal times, inserted out of order: seq breaks the ties.
    await t.store.transaction(async (tx) => {
      for (let i = 0; i < n; i++) {
        const row = imageRow(id, T0 + ((i * 7919) % 97) * 1000);
        ids.push(row.image_id);
        await tx.images.insert(row, await tx.blobLedger.addPending(row.blob_key, Date.now()));
      }
    });
    const walked: string[] = [];
    for (let offset = 0; offset < n; offset += 50) {
      const page = await t.store.images.listByUser(await owner(t.store, id), offset, 50);
      expect(page.total).toBe(n);
      walked.push(...page.rows.map((r) => r.image_id));
    }
    expect(new Set(walked).size).toBe(n);
    const byTime = await t.store.images.search(id, { terms: [] }, 0, n);
    expect(walked).toEqual(byTime.rows.map((r) => r.image_id));
    const times = (await t.store.images.listByUser(await owner(t.store, id), 0, n)).rows.map(
      (r) => r.created_at,
    );
    expect(times).toEqual([...times].sort((a, b) => b - a));
    // A deep page on its own (from a bookmark) holds what the walk had there.
    const deep = await t.store.images.listByUser(await owner(t.store, id), 317, 20);
    expect(deep.rows.map((r) => r.image_id)).toEqual(walked.slice(317, 337));
    expect((await t.store.images.listByUser(await owner(t.store, id), n, 20)).rows).toEqual([]);
    // Which images a page holds, read on its own, is the same at every depth.
    for (const offset of [0, 130, 317, 420, n]) {
      const { rows } = await t.store.images.listByUser(await owner(t.store, id), offset, 20);
      expect(await t.store.images.listRefsByUser(await owner(t.store, id), offset, 20)).toEqual(
        rows.map(({ seq, revision }) => ({ seq, revision })),
      );
    }
  });

  it('reads listed rows by seq for their owner only, more than one statement holds included', async () => {
    const id = await user(t.store, 'by-seq');
    const other = await user(t.store, 'by-seq-other');
    for (let i = 0; i < 45; i++) await insert(t.store, imageRow(id, T0 + i * 1000));
    const theirs = await insert(t.store, imageRow(other, T0));
    const { rows } = await t.store.images.listByUser(await owner(t.store, id), 0, 45);
    const wanted = rows.filter((_, i) => i % 2 === 0 || i > 20);
    const bySeq = (r: { seq: number }) => r.seq;
    const got = await t.store.images.listedBySeq(id, [...wanted.map(bySeq), theirs.seq, 987654]);
    // The same objects the page has; another user's seq and an unknown one find nothing.
    expect([...got].sort((a, b) => b.seq - a.seq)).toEqual(wanted);
    expect(await t.store.images.listedBySeq(other, [rows[0]?.seq ?? 0])).toEqual([]);
    expect(await t.store.images.listedBySeq(id, [])).toEqual([]);
  });

  it('moves an image’s revision with every update of it, and only of it (what listed JSON is kept by)', async () => {
    const id = await user(t.store, 'reviser');
    const [row, other] = [
      await insert(t.store, imageRow(id, T0)),
      await insert(t.store, imageRow(id, T0 + 1)),
    ];
    const revisions = async () =>
      Object.fromEntries(
        (await t.store.images.listByUser(await owner(t.store, id), 0, 10)).rows.map((r) => [
          r.image_id,
          r.revision,
        ]),
      );
    const start = await revisions();
    const seen = [start[row.image_id]];
    const changed = async () => {
      const now = await revisions();
      expect(now[other.image_id]).toBe(start[other.image_id]);
      seen.push(now[row.image_id]);
    };
    await t.store.images.update(row.image_id, id, { title: 'renamed' });
    await changed();
    await t.store.images.recordOcr(row.image_id, 'eng', 'first text');
    await changed();
    await t.store.images.recordOcr(row.image_id, 'eng', 'second text', { replace: true });
    await changed();
    await t.store.images.recordDecodeError(row.blob_key, 'truncated');
    await changed();
    await t.store.importSources.begin(id, 'gyazo.com', 'g1', T0);
    await t.store.importSources.finish(id, 'gyazo.com', 'g1', row.image_id, T0, {
      locale: 'jpn',
      text: '請求書',
    });
    await changed();
    expect(new Set(seen).size).toBe(seen.length);
  });

  // A user with few images has them all tested row by row on SQLite; one with many older
  // images without text (more than the planner samples) has these rare terms found through the
  // index: both ways find the same.
  for (const older of [0, 600]) {
    it(`finds what every query of the search language promises, and only that user’s images (${older} older images)`, async () => {
      const id = await user(t.store, 'searcher');
      const other = await user(t.store, 'other');
      await t.store.transaction(async (tx) => {
        for (let i = 0; i < older; i++) {
          const row = imageRow(id, T0 - 30 * DAY - i);
          await tx.images.insert(row, await tx.blobLedger.addPending(row.blob_key, Date.now()));
        }
      });
      const keyOf = new Map<string, string>();
      for (const [i, { key, ...fields }] of CORPUS.entries()) {
        const row = await insert(t.store, imageRow(id, T0 + i * 1000, fields));
        keyOf.set(row.image_id, key);
        await insert(t.store, imageRow(other, T0 + i * 1000, fields));
      }
      const results: Array<[string, string[]]> = [];
      for (const [query] of EXPECTED) {
        const page = await t.store.images.search(id, parseSearchQuery(query), 0, 100);
        const keys = page.rows.map((r) => keyOf.get(r.image_id) ?? 'another user’s');
        expect(page.total, query).toBe(keys.length);
        results.push([query, keys]);
      }
      expect(results).toEqual(EXPECTED);
    });
  }

  it('pages search results, with the total of all matches on every page', async () => {
    const id = await user(t.store, 'searcher');
    for (let i = 0; i < 7; i++) await insert(t.store, imageRow(id, T0 + i, { title: `match ${i}` }));
    await insert(t.store, imageRow(id, T0 + 100, { title: 'other' }));
    const first = await t.store.images.search(id, parseSearchQuery('match'), 0, 3);
    expect(first.total).toBe(7);
    expect(first.rows.map((r) => r.title)).toEqual(['match 6', 'match 5', 'match 4']);
    const past = await t.store.images.search(id, parseSearchQuery('match'), 10, 3);
    expect(past).toEqual({ rows: [], total: 7, totalIsExact: true });
    expect((await t.store.images.search(id, parseSearchQuery('ma'), 6, 3)).rows.map((r) => r.title)).toEqual([
      'match 0',
    ]);
  });

  it('counts matches up to 1,000 past the page, then says the total is a lower bound', async () => {
    const id = await user(t.store, 'hoarder');
    const n = SEARCH_COUNT_AHEAD + 30;
    await t.store.transaction(async (tx) => {
      for (let i = 0; i < n; i++) {
        const row = imageRow(id, T0 + i, { title: i % 2 ? 'screenshot 東京' : 'screenshot 京都' });
        await tx.images.insert(row, await tx.blobLedger.addPending(row.blob_key, Date.now()));
      }
    });
    for (const query of ['screenshot', '京', 'S']) {
      const first = await t.store.images.search(id, parseSearchQuery(query), 0, 20);
      expect(first.rows.length, query).toBe(20);
      expect({ total: first.total, exact: first.totalIsExact }, query).toEqual({
        total: SEARCH_COUNT_AHEAD + 20,
        exact: false,
      });
      // Near the end the count reaches every match: exact again.
      const late = await t.store.images.search(id, parseSearchQuery(query), 1000, 20);
      expect({ total: late.total, exact: late.totalIsExact }, query).toEqual({ total: n, exact: true });
    }
    const half = await t.store.images.search(id, parseSearchQuery('東京'), 0, 20);
    expect({ total: half.total, exact: half.totalIsExact }).toEqual({ total: n / 2, exact: true });
  });

  it('records OCR text (kept unless replaced) and decode errors, bumping the owner’s version', async () => {
    const id = await user(t.store, 'alice');
    const row = await insert(t.store, imageRow(id, T0));
    const v0 = (await owner(t.store, id)).images_version;
    expect(await t.store.images.recordOcr(row.image_id, 'jpn', '請求書')).toBe(true);
    expect(await t.store.images.recordOcr(row.image_id, 'eng', 'invoice')).toBe(false);
    expect((await t.store.images.search(id, parseSearchQuery('請求'), 0, 10)).total).toBe(1);
    expect(await t.store.images.recordOcr(row.image_id, 'eng', 'invoice', { replace: true })).toBe(true);
    await t.store.images.recordDecodeError(row.blob_key, 'truncated');
    const now = await t.store.images.findByImageId(row.image_id);
    expect(now).toMatchObject({ ocr_locale: 'eng', ocr_text: 'invoice', decode_error: 'truncated' });
    expect((await owner(t.store, id)).images_version).toBe(v0 + 3);
  });

  it('does not make an image whose pending upload was swept as dead (its bytes may be gone)', async () => {
    const id = await user(t.store, 'alice');
    const row = imageRow(id, T0);
    const pending = await t.store.blobLedger.addPending(row.blob_key, 1);
    expect(await t.store.blobLedger.keysToSweep(2)).toEqual([row.blob_key]);
    expect(await t.store.blobLedger.collectIfUnused(row.blob_key, async () => {}, { deadBefore: 2 })).toBe(
      true,
    );
    await expect(t.store.images.insert(row, pending)).rejects.toBeInstanceOf(PendingUploadReclaimed);
    expect(await t.store.images.findByImageId(row.image_id)).toBeUndefined();
    expect((await owner(t.store, id)).image_count).toBe(0);
  });
});
