import type { Generated, GeneratedAlways, Insertable, Selectable } from 'kysely';

/** Table shapes as Kysely sees them. Times are integer milliseconds since the epoch (UTC). */
export interface Database {
  users: UsersTable;
  access_tokens: AccessTokensTable;
  devices: DevicesTable;
  images: ImagesTable;
  pending_blobs: PendingBlobsTable;
  jobs: JobsTable;
  data_dir: DataDirTable;
  import_sources: ImportSourcesTable;
  sessions: SessionsTable;
  invites: InvitesTable;
  server_secrets: ServerSecretsTable;
  held_images: HeldImagesTable;
  anonymous_devices: AnonymousDevicesTable;
  oauth_apps: OAuthAppsTable;
  oauth_codes: OAuthCodesTable;
  blob_collections: BlobCollectionsTable;
}

export interface UsersTable {
  id: Generated<number>;
  uid: string;
  name: string;
  email: string | null;
  password_hash: string | null;
  /** Kept in step with `images` in the same transaction, so listing never counts rows. */
  image_count: Generated<number>;
  /**
   * Bumped in the same transaction as every change to this user's images (insert, delete, and
   * any later update such as OCR text): cached page bookmarks and list pages are keyed by it.
   */
  images_version: Generated<number>;
  created_at: number;
  /** 1 for an admin (users list, invites, disabling users); the first user made is one. */
  is_admin: Generated<number>;
  /** Set when an admin disables the user: every credential of theirs stops working. */
  disabled_at: number | null;
}

export interface AccessTokensTable {
  id: Generated<number>;
  user_id: number;
  /** SHA-256 of the token; the token itself is shown once and never stored. */
  token_hash: string;
  /** First characters of the token, so a user can tell their tokens apart in a list. */
  token_prefix: string;
  name: string | null;
  created_at: number;
  last_used_at: number | null;
  /** The OAuth application this token was granted to; null for a personal access token. */
  app_id: number | null;
  /** Space-separated scopes (`public`, `upload`); personal tokens have both. */
  scopes: Generated<string>;
}

export interface DevicesTable {
  id: Generated<number>;
  user_id: number;
  /** SHA-256 of the legacy device id: the id is the desktop client's only credential. */
  device_hash: string;
  device_prefix: string;
  created_at: number;
  last_used_at: number | null;
}

export interface ImagesTable {
  /** Insertion order: breaks ties between images with the same created_at. */
  seq: Generated<number>;
  image_id: string;
  user_id: number;
  /** Content hash of the bytes: identical uploads share one blob. */
  blob_key: string;
  type: string;
  byte_size: number;
  width: number;
  height: number;
  created_at: number;
  uploaded_at: number;
  app: string | null;
  title: string | null;
  url: string | null;
  desc: string;
  /** The owner's text alternative for people who cannot see the image; "" when none. */
  alt_text: Generated<string>;
  /** 0 or 1 in both dialects; the repositories hand out (and take) a boolean, see ImageRow. */
  metadata_is_public: number;
  access_policy: string;
  ocr_locale: string | null;
  ocr_text: string;
  /** Why the pixels could not be decoded, found by the thumbnail job; null while fine. */
  decode_error: Generated<string | null>;
  /** From the upload's EXIF GPS (degrees, WGS 84; south and west negative); for the owner only. */
  latitude: number | null;
  longitude: number | null;
  /**
   * Bumped by every update of the row (`nextRevision`), so that (seq, revision) names one state
   * of an image: what the listed JSON of it is kept by, in process.
   */
  revision: Generated<number>;
}

export interface PendingBlobsTable {
  id: Generated<number>;
  blob_key: string;
  created_at: number;
}

export interface JobsTable {
  id: Generated<number>;
  kind: string;
  payload: string;
  run_at: number;
  attempts: Generated<number>;
  locked_until: number | null;
  last_error: string | null;
  failed_at: number | null;
  created_at: number;
  /** The random token of the claim holding the lease; only that holder may complete or fail it. */
  lease_owner: string | null;
  /** From the payload's `imageId` / `blobKey`: what the job is about (deleting it cancels the job). */
  image_id: GeneratedAlways<string | null>;
  blob_key: GeneratedAlways<string | null>;
}

/** One row: the identity of this data dir (see migration 0004). */
export interface DataDirTable {
  id: string;
  created_at: number;
}

/** Source images already imported into a user's account (`gazo import`). */
export interface ImportSourcesTable {
  id: Generated<number>;
  user_id: number;
  /** Host the image came from (gyazo.com, or another Gazo server). */
  source: string;
  source_image_id: string;
  /** Null while the import of this image is under way or was cut short. */
  image_id: string | null;
  started_at: number;
  imported_at: number | null;
}

/** A browser session; the cookie holds the random id, this table its SHA-256. */
export interface SessionsTable {
  id: Generated<number>;
  session_hash: string;
  user_id: number;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  user_agent: string | null;
}

/** A single-use sign-up link made by an admin while registration is closed. */
export interface InvitesTable {
  id: Generated<number>;
  invite_hash: string;
  created_by: number;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  used_by: number | null;
}

/** Random keys made once per install, shared by every process (cookie signing, CSRF binding). */
export interface ServerSecretsTable {
  name: string;
  value: string;
  created_at: number;
}

/** The image row's own columns a held image carries until it is claimed (`image_id`: the id it will have). */
type HeldImageColumns = Pick<
  ImagesTable,
  | 'image_id'
  | 'blob_key'
  | 'type'
  | 'byte_size'
  | 'width'
  | 'height'
  | 'created_at'
  | 'uploaded_at'
  | 'app'
  | 'title'
  | 'url'
  | 'desc'
  | 'metadata_is_public'
  | 'access_policy'
  | 'latitude'
  | 'longitude'
>;

/**
 * An image stored but nobody's yet (migration 0010): an easy_auth upload waiting for the browser
 * that opens its link. Its columns are the image row it becomes, less the owner.
 */
export interface HeldImagesTable extends HeldImageColumns {
  id: Generated<number>;
  /** SHA-256 of the token in the claim link; the token itself is never stored. */
  token_hash: string;
  /** The easy_auth caller's application (its public client_id). */
  client_id: string | null;
  /** Unclaimed at this time (ms), the row and its bytes are deleted. */
  expires_at: number;
  /** When a browser that was not signed in first opened the link. */
  sign_in_started_at: number | null;
  /** For an upload of a legacy device nobody has linked yet (migration 0011): that device. */
  device_id: number | null;
}

/** A legacy client's device id made on its first upload, linked to nobody yet (migration 0011). */
export interface AnonymousDevicesTable {
  id: Generated<number>;
  device_hash: string;
  device_prefix: string;
  /** SHA-256 of the client address that made it: how many one address makes is bounded. */
  address_hash: string;
  created_at: number;
  last_used_at: number | null;
}

/** An OAuth application a user registered (migration 0009). */
export interface OAuthAppsTable {
  id: Generated<number>;
  /** The user who registered it (and may see and delete it). */
  user_id: number;
  name: string;
  /** Public: in every authorization link. */
  client_id: string;
  /** SHA-256 of the client secret; the secret is shown once. */
  client_secret_hash: string;
  /** The registered redirect URIs, one a line; a request's must equal one exactly. */
  redirect_uris: string;
  created_at: number;
}

/** An authorization code: single-use, short-lived, stored as its SHA-256. */
export interface OAuthCodesTable {
  id: Generated<number>;
  code_hash: string;
  app_id: number;
  user_id: number;
  redirect_uri: string;
  /** Space-separated scopes the user granted. */
  scopes: string;
  /** PKCE (RFC 7636): the S256 challenge, when the client sent one. */
  code_challenge: string | null;
  code_challenge_method: string | null;
  expires_at: number;
  /** Set by the one exchange that may use it. */
  used_at: number | null;
  /** The access token it was exchanged for: revoked if the code comes back. */
  token_id: number | null;
  created_at: number;
}

/**
 * Blobs whose files a collector is deleting, after it committed that no image or upload uses
 * them: an upload of the same bytes waits (BlobLedger.addPending) until the row is gone, or
 * until `until` when the collector died meanwhile (see migration 0012).
 */
export interface BlobCollectionsTable {
  blob_key: string;
  /** The collector's random token: only it removes the row when its deletes are done. */
  owner: string;
  until: number;
}

export type UserRow = Selectable<UsersTable>;
export type AccessTokenRow = Selectable<AccessTokensTable>;
export type DeviceRow = Selectable<DevicesTable>;
/** An image row as SQL hands it over; the store turns it into an ImageRow before anyone sees it. */
export type StoredImageRow = Selectable<ImagesTable>;
/** An image as the services see it: domain values, not the dialects' column encodings. */
export type ImageRow = Omit<StoredImageRow, 'metadata_is_public'> & { metadata_is_public: boolean };
export type NewImageRow = Omit<Insertable<ImagesTable>, 'metadata_is_public'> & {
  metadata_is_public?: boolean;
};

export const imageRow = (row: StoredImageRow): ImageRow => ({
  ...row,
  metadata_is_public: Number(row.metadata_is_public) === 1,
});

export const storedImageRow = (row: NewImageRow): Insertable<ImagesTable> => ({
  ...row,
  metadata_is_public: row.metadata_is_public ? 1 : 0,
});
export type JobRow = Selectable<JobsTable>;
export type SessionRow = Selectable<SessionsTable>;
export type InviteRow = Selectable<InvitesTable>;
export type HeldImageRow = Selectable<HeldImagesTable>;
export type AnonymousDeviceRow = Selectable<AnonymousDevicesTable>;
export type NewHeldImageRow = Insertable<HeldImagesTable>;
export type OAuthAppRow = Selectable<OAuthAppsTable>;
export type OAuthCodeRow = Selectable<OAuthCodesTable>;

/**
 * The columns a listing reads: what the API's image object is made of, and no more (a page
 * is read and turned into JS far more often than it changes). A new wire field adds its column here.
 */
export const LISTED_IMAGE_COLUMNS = [
  'image_id',
  'type',
  'created_at',
  'app',
  'title',
  'url',
  'desc',
  'alt_text',
  'access_policy',
  'ocr_locale',
  'ocr_text',
  'latitude',
  'longitude',
  // Not on the wire: what the JSON made of the rest is kept by (see ImageListing).
  'seq',
  'revision',
] as const satisfies ReadonlyArray<keyof ImagesTable>;
export type ListedImageRow = Pick<ImageRow, (typeof LISTED_IMAGE_COLUMNS)[number]>;

/** Which state of which image: what a process keeps an image's listed JSON by. */
export const IMAGE_REF_COLUMNS = ['seq', 'revision'] as const satisfies ReadonlyArray<keyof ImagesTable>;
export type ImageRef = Pick<ImageRow, (typeof IMAGE_REF_COLUMNS)[number]>;
