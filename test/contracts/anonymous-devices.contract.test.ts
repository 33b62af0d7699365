import { expect, it } from 'vitest';
import { HOLD_EXPIRE_JOB } from '../../src/store/held-images.repository.ts';
import { BLOB_GC_JOB, THUMBNAIL_JOB } from '../../src/store/images.repository.ts';
import type { HeldImageRow } from '../../src/store/schema.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { imageRow } from '../helpers/rows.ts';
import { createUser, forEachStore, hashOf, queuedJobs } from './stores.ts';

const T0 = Date.UTC(2024, 4, 20);
const address = (n: number) => hashOf(`addr${n}`);

/** An upload of the device held until `expiresAt`, as the legacy upload path holds it. */
async function holdFor(store: MetadataStore, deviceId: number, n: number, expiresAt: number) {
  const { user_id, ocr_locale, ocr_text, metadata_is_public, ...image } = imageRow(0, T0 + n);
  const pendingId = await store.blobLedger.addPending(image.blob_key, Date.now());
  return store.heldImages.hold(
    {
      ...image,
      metadata_is_public: 0,
      token_hash: hashOf(`held${n}`),
      client_id: null,
      device_id: deviceId,
      expires_at: expiresAt,
    },
    pendingId,
  );
}

const thumbnailOf = (held: HeldImageRow) => [{ kind: THUMBNAIL_JOB, payload: { blobKey: held.blob_key } }];

forEachStore('anonymous devices', (t) => {
  it('makes a device with numbers for its id and times, found by hash only, and touched', async () => {
    const device = await t.store.anonymousDevices.create(hashOf(1), 'abc123', address(1), T0);
    expect(typeof device.id).toBe('number');
    expect(device).toEqual({
      id: device.id,
      device_hash: hashOf(1),
      device_prefix: 'abc123',
      address_hash: address(1),
      created_at: T0,
      last_used_at: null,
    });
    expect(await t.store.anonymousDevices.findByHash(hashOf(1))).toEqual(device);
    expect(await t.store.anonymousDevices.findByHash(hashOf(2))).toBeUndefined();
    await t.store.anonymousDevices.touch(device.id, T0 + 500);
    expect((await t.store.anonymousDevices.findByHash(hashOf(1)))?.last_used_at).toBe(T0 + 500);
    await expect(t.store.anonymousDevices.create(hashOf(1), 'abc123', address(2), T0)).rejects.toThrow();
  });

  it('counts the devices an address made since a time (at it included), each address on its own', async () => {
    for (const [n, addr, at] of [
      [1, 1, T0],
      [2, 1, T0 + 1_000],
      [3, 1, T0 + 2_000],
      [4, 2, T0 + 2_000],
    ] as const) {
      await t.store.anonymousDevices.create(hashOf(n), `p${n}`, address(addr), at);
    }
    const since = (addr: number, at: number) => t.store.anonymousDevices.countCreatedSince(address(addr), at);
    expect(await since(1, T0)).toBe(3);
    expect(await since(1, T0 + 1_000)).toBe(2);
    expect(await since(1, T0 + 1_001)).toBe(1);
    expect(await since(2, T0)).toBe(1);
    expect(await since(3, 0)).toBe(0);
  });

  it('counts the uploads each device holds', async () => {
    const a = await t.store.anonymousDevices.create(hashOf(1), 'p1', address(1), T0);
    const b = await t.store.anonymousDevices.create(hashOf(2), 'p2', address(1), T0);
    await holdFor(t.store, a.id, 1, T0 + 60_000);
    await holdFor(t.store, a.id, 2, T0 + 60_000);
    await holdFor(t.store, b.id, 3, T0 + 60_000);
    expect(await t.store.anonymousDevices.countHeld(a.id)).toBe(2);
    expect(await t.store.anonymousDevices.countHeld(b.id)).toBe(1);
    expect(await t.store.anonymousDevices.countHeld(b.id + 10)).toBe(0);
  });

  it('links a device: its id signs in as the user, its live uploads become theirs, the late ones are collected', async () => {
    const alice = await createUser(t.store, 'alice');
    const device = await t.store.anonymousDevices.create(hashOf(1), 'p1', address(1), T0);
    await t.store.anonymousDevices.touch(device.id, T0 + 7);
    const other = await t.store.anonymousDevices.create(hashOf(2), 'p2', address(1), T0);
    const live = await holdFor(t.store, device.id, 1, T0 + 60_000);
    const due = await holdFor(t.store, device.id, 2, T0 + 30_000);
    const others = await holdFor(t.store, other.id, 3, T0 + 60_000);
    const images = await t.store.anonymousDevices.link(device.id, alice.id, T0 + 30_000, thumbnailOf);
    expect(images?.map((i) => [i.image_id, i.user_id, i.metadata_is_public])).toEqual([
      [live.image_id, alice.id, false],
    ]);
    expect(await t.store.images.findByImageId(live.image_id)).toEqual(images?.[0]);
    expect(await t.store.images.findByImageId(due.image_id)).toBeUndefined();
    expect((await t.store.users.findById(alice.id))?.image_count).toBe(1);
    // The id the client holds now acts as alice, a device like one `gazo device create` made.
    const found = await t.store.devices.findByHash(hashOf(1));
    expect(found?.user.id).toBe(alice.id);
    expect(await t.store.devices.listForUser(alice.id)).toEqual([
      expect.objectContaining({ device_prefix: 'p1', created_at: T0, last_used_at: T0 + 7 }),
    ]);
    expect(await t.store.anonymousDevices.findByHash(hashOf(1))).toBeUndefined();
    expect(await t.store.anonymousDevices.countHeld(device.id)).toBe(0);
    // Follow-up work: the live one's jobs, the late one's collection; neither expiry is left.
    expect(await queuedJobs(t.store, THUMBNAIL_JOB)).toEqual([
      { payload: { blobKey: live.blob_key }, runAt: expect.any(Number) },
    ]);
    expect(await t.store.integrity.blobKeysAwaitingCollection()).toEqual([due.blob_key]);
    expect((await queuedJobs(t.store, HOLD_EXPIRE_JOB)).map((j) => j.payload)).toEqual([
      { heldId: others.id },
    ]);
    // Another device’s upload is left as it was.
    expect(await t.store.heldImages.findByTokenHash(others.token_hash)).toEqual(others);
    expect(await t.store.anonymousDevices.link(device.id, alice.id, T0, thumbnailOf)).toBeUndefined();
    expect(await queuedJobs(t.store, BLOB_GC_JOB)).toHaveLength(1);
  });

  it('lets exactly one of many links of a device racing on several processes take it and its uploads', async () => {
    const users = [await createUser(t.store, 'alice'), await createUser(t.store, 'bob')];
    const stores = [t.store, await t.peer(), await t.peer()];
    for (let round = 0; round < 6; round++) {
      const device = await t.store.anonymousDevices.create(hashOf(round), `p${round}`, address(1), T0);
      await holdFor(t.store, device.id, round * 2, T0 + 60_000);
      await holdFor(t.store, device.id, round * 2 + 1, T0 + 60_000);
      const linked = await Promise.all(
        stores.flatMap((store) =>
          users.map((u) => store.anonymousDevices.link(device.id, u.id, T0, () => [])),
        ),
      );
      const winners = linked.filter((images) => images !== undefined);
      expect(
        winners.map((images) => images.length),
        `round ${round}`,
      ).toEqual([2]);
    }
    expect(await t.store.images.countAll()).toBe(12);
    expect((await t.store.devices.listAll()).length).toBe(6);
  });
});
