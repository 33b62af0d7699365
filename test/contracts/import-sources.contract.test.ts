import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { imageRow } from '../helpers/rows.ts';
import { createUser, forEachStore, insertImage } from './stores.ts';

const T0 = Date.UTC(2024, 4, 20);
const GYAZO = 'gyazo.com';

/** listForUser promises no order (the import uses it as a set): compared in one of ours. */
const sorted = <T extends { source: string; source_image_id: string }>(rows: T[]) =>
  [...rows].sort((a, b) =>
    `${a.source} ${a.source_image_id}`.localeCompare(`${b.source} ${b.source_image_id}`),
  );

forEachStore('import sources', (t) => {
  it('records begun and finished imports per user; beginning again changes nothing', async () => {
    const alice = await createUser(t.store, 'alice');
    const bob = await createUser(t.store, 'bob');
    const image = await insertImage(t.store, imageRow(alice.id, T0));
    await t.store.importSources.begin(alice.id, GYAZO, 'a1', T0);
    await t.store.importSources.begin(alice.id, GYAZO, 'a2', T0);
    await t.store.importSources.begin(alice.id, 'other.example', 'a1', T0);
    await t.store.importSources.begin(bob.id, GYAZO, 'a1', T0);
    await t.store.importSources.finish(alice.id, GYAZO, 'a1', image.image_id, T0 + 10);
    await t.store.importSources.begin(alice.id, GYAZO, 'a1', T0 + 20);
    expect(sorted(await t.store.importSources.listForUser(alice.id))).toEqual(
      sorted([
        { source: GYAZO, source_image_id: 'a1', image_id: image.image_id },
        { source: GYAZO, source_image_id: 'a2', image_id: null },
        { source: 'other.example', source_image_id: 'a1', image_id: null },
      ]),
    );
    expect(await t.store.importSources.listForUser(bob.id)).toEqual([
      { source: GYAZO, source_image_id: 'a1', image_id: null },
    ]);
  });

  it('gives the image the source’s OCR text with the finish, bumping only its owner’s version', async () => {
    const alice = await createUser(t.store, 'alice');
    const bob = await createUser(t.store, 'bob');
    const image = await insertImage(t.store, imageRow(alice.id, T0));
    const version = async (id: number) => (await t.store.users.findById(id))?.images_version;
    const [aliceBefore, bobBefore] = [await version(alice.id), await version(bob.id)];
    await t.store.importSources.begin(alice.id, GYAZO, 'a1', T0);
    await t.store.importSources.finish(alice.id, GYAZO, 'a1', image.image_id, T0 + 10, {
      locale: 'jpn',
      text: '領収書',
    });
    expect(await t.store.images.findByImageId(image.image_id)).toMatchObject({
      ocr_locale: 'jpn',
      ocr_text: '領収書',
    });
    expect(await version(alice.id)).toBe((aliceBefore ?? 0) + 1);
    // Without text, or for an image not the user's, no image changes and no version moves.
    await t.store.importSources.begin(alice.id, GYAZO, 'a2', T0);
    await t.store.importSources.finish(alice.id, GYAZO, 'a2', image.image_id, T0 + 10);
    await t.store.importSources.begin(bob.id, GYAZO, 'b1', T0);
    await t.store.importSources.finish(bob.id, GYAZO, 'b1', image.image_id, T0 + 10, {
      locale: null,
      text: 'stolen',
    });
    expect((await t.store.images.findByImageId(image.image_id))?.ocr_text).toBe('領収書');
    expect(await version(alice.id)).toBe((aliceBefore ?? 0) + 1);
    expect(await version(bob.id)).toBe(bobBefore);
  });

  it('finds what a cut-short import left: the user’s image of those bytes, uploaded since it began, unclaimed', async () => {
    const alice = await createUser(t.store, 'alice');
    const bob = await createUser(t.store, 'bob');
    const key = randomBytes(32).toString('hex');
    const find = (userId: number, sourceId: string, blobKey = key) =>
      t.store.importSources.findUnclaimedCopy(userId, GYAZO, sourceId, blobKey);
    // Before any import began: an earlier upload of the same bytes is the user's own, not a copy.
    await insertImage(t.store, imageRow(alice.id, T0, { blob_key: key, uploaded_at: T0 - 1 }));
    await t.store.importSources.begin(alice.id, GYAZO, 'a1', T0);
    expect(await find(alice.id, 'a1')).toBeUndefined();
    await insertImage(t.store, imageRow(bob.id, T0, { blob_key: key, uploaded_at: T0 + 5 }));
    expect(await find(alice.id, 'a1')).toBeUndefined();
    const first = await insertImage(t.store, imageRow(alice.id, T0, { blob_key: key, uploaded_at: T0 }));
    const second = await insertImage(t.store, imageRow(alice.id, T0, { blob_key: key, uploaded_at: T0 + 9 }));
    expect(await find(alice.id, 'a1')).toBe(first.image_id);
    expect(await find(alice.id, 'a1', randomBytes(32).toString('hex'))).toBeUndefined();
    // Not begun: nothing to have been cut short.
    expect(await find(alice.id, 'a9')).toBeUndefined();
    // Another source image with the same bytes, finished with the first copy: the next is left.
    await t.store.importSources.begin(alice.id, GYAZO, 'a2', T0);
    await t.store.importSources.finish(alice.id, GYAZO, 'a2', first.image_id, T0 + 20);
    expect(await find(alice.id, 'a1')).toBe(second.image_id);
    await t.store.importSources.finish(alice.id, GYAZO, 'a1', second.image_id, T0 + 20);
    expect(await find(alice.id, 'a1')).toBeUndefined();
    // A second process reads the same records.
    const other = await t.another();
    expect(sorted(await other.importSources.listForUser(alice.id)).map((r) => r.image_id)).toEqual([
      second.image_id,
      first.image_id,
    ]);
  });
});
