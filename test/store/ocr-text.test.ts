import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/index.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { imageRow } from '../helpers/rows.ts';
import { makeDataDir } from '../helpers/server.ts';

describe('recording OCR text', () => {
  let dir: string;
  let store: MetadataStore;
  let userId: number;
  const version = async () => (await store.users.findById(userId))?.images_version;

  beforeAll(async () => {
    dir = await makeDataDir();
    store = await openSqliteStore(dir);
    userId = (await store.users.create({ uid: 'o', name: 'ocr', email: null, passwordHash: null })).id;
  });
  afterAll(async () => {
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const insert = async () => {
    const row = imageRow(userId, Date.now());
    return store.images.insert(row, await store.blobLedger.addPending(row.blob_key, Date.now()));
  };

  it('stores text and locale, bumps the owner’s images_version, and is found by search', async () => {
    const image = await insert();
    const before = await version();
    expect(await store.images.recordOcr(image.image_id, 'en', 'Quarterly revenue\nforecast')).toBe(true);
    expect(await version()).toBe((before ?? 0) + 1);
    const row = await store.images.findByImageId(image.image_id);
    expect([row?.ocr_locale, row?.ocr_text]).toEqual(['en', 'Quarterly revenue\nforecast']);
    const found = await store.images.search(userId, { terms: [{ text: 'revenue' }] }, 0, 10);
    expect(found.rows.map((r) => r.image_id)).toEqual([image.image_id]);
  });

  it('keeps text the image already has (an import) unless told to replace it', async () => {
    const image = await insert();
    await store.images.recordOcr(image.image_id, 'ja', '会議の資料');
    const before = await version();
    expect(await store.images.recordOcr(image.image_id, 'en', 'misread')).toBe(false);
    expect(await version()).toBe(before);
    expect((await store.images.findByImageId(image.image_id))?.ocr_text).toBe('会議の資料');
    expect(await store.images.recordOcr(image.image_id, 'en', 'reread', { replace: true })).toBe(true);
    expect((await store.images.findByImageId(image.image_id))?.ocr_text).toBe('reread');
  });

  it('stores no locale with no text, and answers false for an image that is gone', async () => {
    const image = await insert();
    await store.images.recordOcr(image.image_id, 'en', '', { replace: true });
    expect((await store.images.findByImageId(image.image_id))?.ocr_locale).toBeNull();
    expect(await store.images.recordOcr('no-such-image', 'en', 'x')).toBe(false);
  });
});
