import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import { HOLD_EXPIRE_JOB } from '../../src/store/held-images.repository.ts';
import { BLOB_GC_JOB, THUMBNAIL_JOB } from '../../src/store/images.repository.ts';
import type { NewHeldImageRow } from '../../src/store/schema.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { createUser, forEachStore, hashOf, queuedJobs } from './stores.ts';

const T0 = Date.UTC(2024, 4, 20);

/** An easy_auth upload as the upload path holds it: stored, checked, nobody's yet. */
const heldRow = (
  n: number,
  expiresAt: number,
  overrides: Partial<NewHeldImageRow> = {},
): NewHeldImageRow => ({
  token_hash: hashOf(n),
  image_id: randomBytes(16).toString('hex'),
  client_id: 'client-uploader',
  blob_key: randomBytes(32).toString('hex'),
  type: 'png',
  byte_size: 68,
  width: 2,
  height: 3,
  created_at: T0,
  uploaded_at: T0 + 5,
  app: 'Chrome',
  title: 'held',
  url: 'https://example.com/',
  desc: 'a description',
  metadata_is_public: 1,
  access_policy: 'anyone',
  latitude: 35.681236,
  longitude: -139.767125,
  expires_at: expiresAt,
  sign_in_started_at: null,
  device_id: null,
  ...overrides,
});

const hold = async (store: MetadataStore, row: NewHeldImageRow) =>
  store.heldImages.hold(row, await store.blobLedger.addPending(row.blob_key, Date.now()));

const thumbnailJob = (blobKey: string) => [{ kind: THUMBNAIL_JOB, payload: { blobKey } }];

forEachStore('held images', (t) => {
  it('holds an upload as given (numbers, exact coordinates), forgets its pending blob and queues its expiry', async () => {
    const row = heldRow(1, T0 + 60_000);
    const held = await hold(t.store, row);
    expect(typeof held.id).toBe('number');
    expect(held).toEqual({ ...row, id: held.id });
    expect(await t.store.heldImages.findByTokenHash(hashOf(1))).toEqual(held);
    expect(await t.store.heldImages.findByTokenHash(hashOf(2))).toBeUndefined();
    expect(await t.store.blobLedger.pendingKeys()).toEqual([]);
    expect(await queuedJobs(t.store, HOLD_EXPIRE_JOB)).toEqual([
      { payload: { heldId: held.id }, runAt: T0 + 60_000 },
    ]);
    // Nobody's: not an image, not counted.
    expect(await t.store.images.findByImageId(row.image_id)).toBeUndefined();
    expect(await t.store.images.countAll()).toBe(0);
  });

  it('counts a held image’s blob as used: it is listed for fsck and backups, and not collected', async () => {
    const shared = randomBytes(32).toString('hex');
    await hold(t.store, heldRow(1, T0 + 60_000, { blob_key: shared }));
    await hold(t.store, heldRow(2, T0 + 60_000, { blob_key: shared }));
    const other = await hold(t.store, heldRow(3, T0 + 60_000));
    expect((await t.store.heldImages.blobKeys()).sort()).toEqual([shared, other.blob_key].sort());
    let removed = false;
    expect(
      await t.store.blobLedger.collectIfUnused(shared, async () => {
        removed = true;
      }),
    ).toBe(false);
    expect(removed).toBe(false);
  });

  it('starts a sign-in once, while the hold lasts, moving its expiry and queueing that', async () => {
    const held = await hold(t.store, heldRow(1, T0 + 60_000));
    expect(await t.store.heldImages.startSignIn(held.id, T0 + 60_000, T0 + 900_000)).toBeUndefined();
    const started = await t.store.heldImages.startSignIn(held.id, T0 + 59_999, T0 + 600_000);
    expect(started).toEqual({ ...held, sign_in_started_at: T0 + 59_999, expires_at: T0 + 600_000 });
    expect(await t.store.heldImages.findByTokenHash(hashOf(1))).toEqual(started);
    expect(await t.store.heldImages.startSignIn(held.id, T0 + 70_000, T0 + 900_000)).toBeUndefined();
    expect(await t.store.heldImages.startSignIn(held.id + 1, T0, T0 + 900_000)).toBeUndefined();
    expect((await queuedJobs(t.store, HOLD_EXPIRE_JOB)).map((j) => j.runAt)).toEqual([
      T0 + 60_000,
      T0 + 600_000,
    ]);
    // The first expiry, due first, finds the hold not due and leaves it.
    expect(await t.store.heldImages.expire(held.id, T0 + 60_000)).toBeUndefined();
    expect(await t.store.heldImages.findByTokenHash(hashOf(1))).toBeDefined();
  });

  it('starts one sign-in of many browsers opening the link at once, on several processes', async () => {
    const stores = [t.store, await t.peer(), await t.peer()];
    for (let round = 0; round < 6; round++) {
      const held = await hold(t.store, heldRow(round, T0 + 60_000));
      const started = await Promise.all(
        stores.flatMap((store) =>
          [1, 2].map((n) => store.heldImages.startSignIn(held.id, T0 + n, T0 + 600_000 + n)),
        ),
      );
      const winners = started.filter((row) => row !== undefined);
      expect(winners, `round ${round}`).toHaveLength(1);
      expect(await t.store.heldImages.findByTokenHash(hashOf(round)), `round ${round}`).toEqual(winners[0]);
      const expiries = (await queuedJobs(t.store, HOLD_EXPIRE_JOB)).filter(
        (j) => (j.payload as { heldId: number }).heldId === held.id,
      );
      expect(
        expiries.map((j) => Number(j.runAt)).sort((a, b) => a - b),
        `round ${round}`,
      ).toEqual([T0 + 60_000, winners[0]?.expires_at]);
    }
  });

  it('claims once, before (not at) the expiry: the user’s image, counted, its jobs queued, its expiries dropped', async () => {
    const alice = await createUser(t.store, 'alice');
    const row = heldRow(1, T0 + 60_000);
    const held = await hold(t.store, row);
    await t.store.heldImages.startSignIn(held.id, T0 + 10, T0 + 90_000);
    expect(
      await t.store.heldImages.claim(held.id, alice.id, T0 + 90_000, thumbnailJob(row.blob_key)),
    ).toBeUndefined();
    const image = await t.store.heldImages.claim(held.id, alice.id, T0 + 89_999, thumbnailJob(row.blob_key));
    expect(image).toMatchObject({
      image_id: row.image_id,
      user_id: alice.id,
      blob_key: row.blob_key,
      byte_size: 68,
      created_at: T0,
      uploaded_at: T0 + 5,
      title: 'held',
      app: 'Chrome',
      url: 'https://example.com/',
      desc: 'a description',
      metadata_is_public: true,
      latitude: 35.681236,
      longitude: -139.767125,
      ocr_text: '',
      ocr_locale: null,
    });
    expect(await t.store.images.findByImageId(row.image_id)).toEqual(image);
    expect((await t.store.users.findById(alice.id))?.image_count).toBe(1);
    expect(await queuedJobs(t.store, THUMBNAIL_JOB)).toEqual([
      { payload: { blobKey: row.blob_key }, runAt: expect.any(Number) },
    ]);
    expect(await queuedJobs(t.store, HOLD_EXPIRE_JOB)).toEqual([]);
    expect(await t.store.heldImages.findByTokenHash(hashOf(1))).toBeUndefined();
    expect(await t.store.heldImages.blobKeys()).toEqual([]);
    // Spent: neither claimed again nor expired.
    expect(await t.store.heldImages.claim(held.id, alice.id, T0 + 20, [])).toBeUndefined();
    expect(await t.store.heldImages.expire(held.id, T0 + 10 * 60_000)).toBeUndefined();
    expect((await t.store.users.findById(alice.id))?.image_count).toBe(1);
  });

  it('expires a hold at (not before) its time, once, handing back and queueing its blob’s collection', async () => {
    const alice = await createUser(t.store, 'alice');
    const row = heldRow(1, T0 + 60_000);
    const held = await hold(t.store, row);
    expect(await t.store.heldImages.expire(held.id, T0 + 59_999)).toBeUndefined();
    expect(await t.store.integrity.blobKeysAwaitingCollection()).toEqual([]);
    expect(await t.store.heldImages.expire(held.id, T0 + 60_000)).toEqual({ blobKey: row.blob_key });
    expect(await t.store.heldImages.findByTokenHash(hashOf(1))).toBeUndefined();
    expect(await t.store.integrity.blobKeysAwaitingCollection()).toEqual([row.blob_key]);
    expect(await queuedJobs(t.store, BLOB_GC_JOB)).toEqual([
      { payload: { blobKey: row.blob_key }, runAt: expect.any(Number) },
    ]);
    expect(await t.store.heldImages.expire(held.id, T0 + 60_000)).toBeUndefined();
    expect(await t.store.heldImages.claim(held.id, alice.id, T0, [])).toBeUndefined();
    // Nothing uses the blob now: the collection may take it.
    expect(await t.store.blobLedger.collectIfUnused(row.blob_key, async () => undefined)).toBe(true);
  });

  it('lets exactly one of many claims racing on several processes make the image', async () => {
    const users = [await createUser(t.store, 'alice'), await createUser(t.store, 'bob')];
    const stores = [t.store, await t.peer(), await t.peer()];
    for (let round = 0; round < 8; round++) {
      const held = await hold(t.store, heldRow(round, T0 + 60_000));
      const claims = await Promise.all(
        stores.flatMap((store) => users.map((u) => store.heldImages.claim(held.id, u.id, T0, []))),
      );
      expect(
        claims.filter((c) => c !== undefined),
        `round ${round}`,
      ).toHaveLength(1);
    }
    const counts = await Promise.all(
      users.map(async (u) => (await t.store.users.findById(u.id))?.image_count),
    );
    expect((counts[0] ?? 0) + (counts[1] ?? 0)).toBe(8);
    expect(await t.store.images.countAll()).toBe(8);
  });

  it('never both claims and expires a hold when the two race (clocks either side of its expiry)', async () => {
    const alice = await createUser(t.store, 'alice');
    const peer = await t.peer();
    for (let round = 0; round < 8; round++) {
      const row = heldRow(round, T0 + 60_000);
      const held = await hold(t.store, row);
      const [image, expired] = await Promise.all([
        t.store.heldImages.claim(held.id, alice.id, T0 + 59_999, []),
        peer.heldImages.expire(held.id, T0 + 60_000),
      ]);
      expect(
        [image, expired].filter((r) => r !== undefined),
        `round ${round}`,
      ).toHaveLength(1);
      const collecting = (await t.store.integrity.blobKeysAwaitingCollection()).includes(row.blob_key);
      expect(collecting, `round ${round}`).toBe(expired !== undefined);
    }
  });
});
