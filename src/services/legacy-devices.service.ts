import { randomBytes } from 'node:crypto';
import type { StagedFile } from '../blobs/staged-file.ts';
import type { DeviceRow } from '../store/schema.ts';
import type { MetadataStore } from '../store/types.ts';
import { hashSecret } from './accounts.service.ts';
import { notFound, ServiceError, unauthorized } from './errors.ts';
import { holdUpload } from './held-upload.ts';
import type { Principal } from './principal.ts';
import type { UploadMeta, UploadService } from './upload.service.ts';

const HOUR_MS = 60 * 60 * 1000;

/**
 * Bounds on what a client without an account can leave on the server: devices one address may
 * make a day, uploads one unlinked device may have waiting, and how long they wait.
 */
export const ANONYMOUS_LIMITS = {
  devicesPerAddressPerDay: 5,
  heldUploadsPerDevice: 20,
  holdMs: 24 * HOUR_MS,
};

/** An upload from a device nobody has linked yet: what the legacy client is told. */
export interface AnonymousUpload {
  /** The device id (`X-Gyazo-Id`): new on the first upload, the same one after. */
  deviceId: string;
  /** `X-Gyazo-Session-Token`: opening the permalink with `?token=` links the device. */
  token: string;
  imageId: string;
}

/** 40 hex characters: never mistaken for a 32-character image id (as `gazo device create`). */
const newDeviceId = () => randomBytes(20).toString('hex');
const newLinkToken = () => randomBytes(24).toString('base64url');

/**
 * The legacy desktop clients' device ids, as their owner manages them on the web (create, list,
 * revoke), and, with `--legacy-anonymous-devices`, devices made on a client's first upload: their
 * uploads are held for nobody (unlisted, shown to no one) until the person opens one of the
 * permalinks the client opens, `?token=` appended, while signed in and confirms; the device is
 * then theirs, with every upload it made so far. Unlinked uploads are deleted after a day.
 */
export class LegacyDevicesService {
  constructor(
    private readonly store: MetadataStore,
    private readonly uploads: UploadService,
    private readonly options: { anonymous: boolean; limits?: typeof ANONYMOUS_LIMITS },
    private readonly onQueued?: () => void,
  ) {}

  private get limits() {
    return this.options.limits ?? ANONYMOUS_LIMITS;
  }

  get anonymousEnabled(): boolean {
    return this.options.anonymous;
  }

  /**
   * Holds an upload of an unlinked device, making the device when `deviceId` is empty. Refused
   * (401) when anonymous devices are off or the id is unknown; 429 past the limits.
   */
  async uploadAnonymous(
    deviceId: string,
    address: string,
    image: StagedFile,
    meta: UploadMeta,
    now = Date.now(),
  ): Promise<AnonymousUpload> {
    if (!this.options.anonymous) throw unauthorized('Unknown device id');
    const addressHash = hashSecret(address);
    let id = deviceId;
    let device = id ? await this.store.anonymousDevices.findByHash(hashSecret(id)) : undefined;
    if (id && !device) throw unauthorized('Unknown device id');
    if (device) {
      if ((await this.store.anonymousDevices.countHeld(device.id)) >= this.limits.heldUploadsPerDevice) {
        throw new ServiceError(
          429,
          `This device has ${this.limits.heldUploadsPerDevice} uploads waiting: open one of their links while signed in to Gazo to keep them`,
        );
      }
      await this.store.anonymousDevices.touch(device.id, now);
    } else {
      const made = await this.store.anonymousDevices.countCreatedSince(addressHash, now - 24 * HOUR_MS);
      if (made >= this.limits.devicesPerAddressPerDay) {
        throw new ServiceError(429, 'Too many new devices from this address today: try again tomorrow');
      }
      id = newDeviceId();
      device = await this.store.anonymousDevices.create(hashSecret(id), id.slice(0, 6), addressHash, now);
    }
    const token = newLinkToken();
    const held = await holdUpload(this.store, this.uploads, image, meta, {
      token,
      lifetimeMs: this.limits.holdMs,
      deviceId: device.id,
    });
    return { deviceId: id, token, imageId: held.image_id };
  }

  /** Whether `token` links the device of the held upload `imageId` (the permalink that was opened). */
  async findLink(imageId: string, token: string, now = Date.now()) {
    if (token.length === 0 || token.length > 128) return undefined;
    const held = await this.store.heldImages.findByTokenHash(hashSecret(token));
    if (!held || held.device_id === null || held.image_id !== imageId || held.expires_at <= now)
      return undefined;
    return { imageId: held.image_id, deviceId: held.device_id };
  }

  /** Links the device to the viewer: the device and its uploads so far become theirs. */
  async link(imageId: string, token: string, viewer: Principal, now = Date.now()): Promise<number> {
    const found = await this.findLink(imageId, token, now);
    if (!found) throw notFound('This link is unknown, expired, or was used already.');
    const images = await this.store.anonymousDevices.link(found.deviceId, viewer.userId, now, (held) =>
      this.uploads.followUpJobs(held.image_id, held.blob_key),
    );
    if (!images) throw notFound('This device was linked already.');
    this.onQueued?.();
    return images.length;
  }

  /** A new device id for the signed-in user's desktop client; shown once, stored hashed. */
  async create(viewer: Principal): Promise<{ deviceId: string; row: DeviceRow }> {
    const deviceId = newDeviceId();
    const row = await this.store.devices.create(viewer.userId, hashSecret(deviceId), deviceId.slice(0, 6));
    return { deviceId, row };
  }

  list(viewer: Principal): Promise<DeviceRow[]> {
    return this.store.devices.listForUser(viewer.userId);
  }

  /** Revokes one of the viewer's own devices; anyone else's is "not found". */
  async revoke(viewer: Principal, id: number): Promise<void> {
    const own = (await this.store.devices.listForUser(viewer.userId)).some((d) => d.id === id);
    if (!own || !(await this.store.devices.revoke(id))) throw notFound('No such device');
  }
}
