import { randomBytes } from 'node:crypto';
import type { StagedFile } from '../blobs/staged-file.ts';
import type { ImageRow } from '../store/schema.ts';
import type { MetadataStore } from '../store/types.ts';
import { hashSecret } from './accounts.service.ts';
import type { BlobCollector } from './blob-collector.ts';
import type { ClientApps } from './client-apps.ts';
import { badRequest, notFound, unauthorized } from './errors.ts';
import { holdUpload } from './held-upload.ts';
import type { Principal } from './principal.ts';
import type { UploadMeta, UploadService } from './upload.service.ts';

/**
 * How long an easy_auth image waits. `claimWindowMs`: the link must be opened this soon after
 * the upload (Gyazo's 30 s). `signInWindowMs`: a browser that opened it in time but was not
 * signed in has this long from that first opening to sign in and complete; later openings do
 * not extend it. Tests pass shorter times; users cannot (no flag).
 */
export interface EasyAuthTimes {
  claimWindowMs: number;
  signInWindowMs: number;
}

export const EASY_AUTH_TIMES: EasyAuthTimes = { claimWindowMs: 30_000, signInWindowMs: 10 * 60_000 };

/** What opening a claim link comes to: the image, now the viewer's, or a sign-in first. */
export type ClaimOutcome = { image: ImageRow } | { signIn: true };

export const EXPIRED =
  'This upload link has expired (links last 30 seconds): the image was not kept. Upload it again.';
const UNKNOWN =
  'This upload link is unknown, or was used or expired already (links last 30 seconds, and an image not claimed in time is not kept).';

/**
 * A 32-character base64url token, drawn again in the (rare) case it looks like an image id:
 * clients find the image id by matching /[a-f0-9]{32}/ against the URL they end on.
 */
function newClaimToken(): string {
  for (;;) {
    const token = randomBytes(24).toString('base64url');
    if (!/[a-f0-9]{32}/.test(token)) return token;
  }
}

/**
 * easy_auth (Gyazo's "upload with browser session"): a page on any site posts an image with its
 * application's public `client_id` and gets a link; the browser that opens the link (its session
 * cookie says who it is) gets the image. Until then the image is held by nobody (held_images) and
 * is deleted, bytes included, when its time is up.
 */
export class EasyAuthService {
  constructor(
    private readonly store: MetadataStore,
    private readonly uploads: UploadService,
    private readonly collector: BlobCollector,
    private readonly apps: ClientApps,
    private readonly times: EasyAuthTimes = EASY_AUTH_TIMES,
    /** Called once a claim has queued the image's background work (the job worker's nudge). */
    private readonly onQueued?: () => void,
  ) {}

  /** The application a `client_id` names; a missing or unknown one is refused. */
  async requireApp(clientId: string | undefined) {
    if (!clientId) throw badRequest('client_id is required');
    const app = clientId.length <= 256 ? await this.apps.findByClientId(clientId) : undefined;
    if (!app) throw unauthorized("client_id is not a registered application's");
    return app;
  }

  /** Stores the image (which it takes over) held for the link's token; answers the token once. */
  async start(
    image: StagedFile,
    clientId: string,
    meta: Pick<UploadMeta, 'title' | 'desc' | 'url' | 'metadataIsPublic'>,
  ): Promise<{ token: string; expiresAt: number }> {
    const token = newClaimToken();
    const held = await holdUpload(this.store, this.uploads, image, meta, {
      token,
      lifetimeMs: this.times.claimWindowMs,
      clientId,
    });
    return { token, expiresAt: held.expires_at };
  }

  /**
   * A browser opened the link. Signed in: the image becomes the viewer's (once: the link is then
   * spent). Not signed in: it is asked to sign in, with signInWindowMs to do it from the first
   * time. A link past its time is refused and its image removed at once.
   */
  async open(token: string, viewer: Principal | undefined, now = Date.now()): Promise<ClaimOutcome> {
    const held =
      token.length <= 128 ? await this.store.heldImages.findByTokenHash(hashSecret(token)) : undefined;
    // A legacy device's upload is linked with its device (permalink?token=), not claimed alone.
    if (!held || held.device_id !== null) throw notFound(UNKNOWN);
    if (held.expires_at <= now) {
      await this.expire(held.id, now);
      throw notFound(EXPIRED);
    }
    if (!viewer) {
      if (held.sign_in_started_at === null) {
        const until = Math.max(held.expires_at, now + this.times.signInWindowMs);
        await this.store.heldImages.startSignIn(held.id, now, until);
      }
      return { signIn: true };
    }
    const image = await this.store.heldImages.claim(
      held.id,
      viewer.userId,
      now,
      this.uploads.followUpJobs(held.image_id, held.blob_key),
    );
    if (!image) throw notFound(UNKNOWN);
    this.onQueued?.();
    return { image };
  }

  /** Deletes a held image whose time is up, and its bytes unless another image has the same. */
  async expire(heldId: number, now = Date.now()): Promise<void> {
    const gone = await this.store.heldImages.expire(heldId, now);
    if (gone) await this.collector.collect(gone.blobKey);
  }
}

/**
 * `referer_url` as clients send it: often the page's address run through encodeURIComponent and
 * then form-encoded again, so that it arrives still percent-encoded once. Decoded (at most
 * twice) when it does not start with a scheme and decodes to something that does.
 */
export function decodeRefererUrl(value: string | undefined): string | undefined {
  let url = value?.trim();
  for (let i = 0; i < 2 && url && !/^[a-z][a-z0-9+.-]*:/i.test(url) && /%[0-9a-f]{2}/i.test(url); i++) {
    try {
      url = decodeURIComponent(url);
    } catch {
      break;
    }
  }
  return url;
}
