import type { StagedFile } from '../blobs/staged-file.ts';
import type { HeldImageRow } from '../store/schema.ts';
import type { MetadataStore } from '../store/types.ts';
import { hashSecret } from './accounts.service.ts';
import type { UploadMeta, UploadService } from './upload.service.ts';

/** Whom a held image waits for: an easy_auth link, or a legacy device not linked yet. */
export interface Holder {
  /** The secret that releases it; only its hash is stored. */
  token: string;
  /** How long after the upload it is kept unclaimed. */
  lifetimeMs: number;
  clientId?: string;
  deviceId?: number;
}

/** Stores an upload (checked and stripped as any) held for nobody, as `holder` says. */
export function holdUpload(
  store: MetadataStore,
  uploads: UploadService,
  image: StagedFile,
  meta: UploadMeta,
  holder: Holder,
): Promise<HeldImageRow> {
  return uploads.hold(image, meta, ({ image: row, pendingId }) =>
    store.heldImages.hold(
      {
        ...row,
        metadata_is_public: row.metadata_is_public ? 1 : 0,
        token_hash: hashSecret(holder.token),
        client_id: holder.clientId ?? null,
        device_id: holder.deviceId ?? null,
        expires_at: row.uploaded_at + holder.lifetimeMs,
      },
      pendingId,
    ),
  );
}
