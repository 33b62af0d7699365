import type { KyselyDataCopy } from './data-copy.repository.ts';
import type { DialectKind } from './dialect.ts';
import type {
  AccessTokenRow,
  AnonymousDeviceRow,
  DeviceRow,
  HeldImageRow,
  ImageRef,
  ImageRow,
  InviteRow,
  JobRow,
  ListedImageRow,
  NewHeldImageRow,
  NewImageRow,
  OAuthAppRow,
  OAuthCodeRow,
  SessionRow,
  UserRow,
} from './schema.ts';

/**
 * The metadata store as the services see it. One implementation speaks SQL through Kysely, on
 * SQLite or PostgreSQL; unit tests can hand the services fakes of these instead.
 */
export interface MetadataStore extends StoreRepositories {
  /** Which database holds the data: SQLite (embedded, one serving process) or PostgreSQL (shared). */
  kind: DialectKind;
  blobLedger: BlobLedger;
  integrity: IntegrityRepository;
  /** Uploads held for a claim (easy_auth, unlinked legacy devices); each call is its own transaction. */
  heldImages: HeldImageRepository;
  anonymousDevices: AnonymousDeviceRepository;
  /** Whole-table reads and id-preserving writes, for `gazo migrate-data` only. */
  dataCopy: KyselyDataCopy;
  /**
   * Runs `work` in one transaction: `tx` holds the same repositories bound to it (jobs.enqueue
   * included), so that everything `work` writes commits together or not at all, and `tx.lock`
   * takes named locks held until then. Use only `tx` inside: the store itself is another
   * connection (on SQLite it would wait for this transaction to end).
   */
  transaction<T>(work: (tx: StoreTransaction) => Promise<T>): Promise<T>;
  /** Writes a consistent snapshot of the whole database to `file`, while it stays in use (SQLite only). */
  backupTo(file: string): Promise<void>;
  close(): Promise<void>;
}

/** The repositories, as the store and a transaction of it both have them. */
export interface StoreRepositories {
  users: UserRepository;
  tokens: CredentialRepository<AccessTokenRow>;
  devices: CredentialRepository<DeviceRow>;
  images: ImageRepository;
  jobs: JobRepository;
  importSources: ImportSourceRepository;
  sessions: SessionRepository;
  oauth: OAuthRepository;
  invites: InviteRepository;
  /** Random keys made once per install and shared by every process. */
  secrets: { getOrCreate(name: string, make: () => string): Promise<string> };
}

/** What `MetadataStore.transaction` hands its work. */
export interface StoreTransaction extends StoreRepositories {
  /**
   * Registering an upload in a transaction does not wait for a collection of the same bytes
   * (it throws BlobCollectionInProgress); collecting needs a commit of its own, so is not here.
   */
  blobLedger: Omit<BlobLedger, 'collectIfUnused'>;
  /**
   * Holds the named lock until the transaction ends: PostgreSQL's advisory lock on the name;
   * on SQLite, the database's write lock (as exclusive, coarser). Take it before the reads it guards.
   */
  lock(name: string): Promise<void>;
}

export interface NewUser {
  uid: string;
  name: string;
  email: string | null;
  passwordHash: string | null;
  /** Unset: the user is an admin exactly when they are the first user. */
  isAdmin?: boolean;
}

export interface UserRepository {
  create(user: NewUser): Promise<UserRow>;
  findById(id: number): Promise<UserRow | undefined>;
  findByName(name: string): Promise<UserRow | undefined>;
  /** A user whose name is `name` in any case (ASCII: the only letters a name may have). */
  findByNameIgnoringCase(name: string): Promise<UserRow | undefined>;
  /** Whether some admin is not disabled. */
  hasActiveAdmin(): Promise<boolean>;
  list(): Promise<UserRow[]>;
  setPassword(id: number, passwordHash: string): Promise<void>;
  /** Disables (a time) or enables (null) the user. */
  setDisabled(id: number, disabledAt: number | null): Promise<void>;
  /**
   * Disables the user (at `at`) or takes their admin rights, unless that would leave no admin
   * who is not disabled: false, and nothing changed, then (or when there is no such user).
   */
  takeAway(id: number, change: 'disable' | 'unadmin', at: number): Promise<boolean>;
  setAdmin(id: number): Promise<void>;
}

/** An unused invite as an admin's list shows it: who made it. */
export type ListedInvite = InviteRow & { created_by_name: string };

/** Single-use sign-up links, by the SHA-256 of the link's random token. */
export interface InviteRepository {
  create(invite: {
    hash: string;
    createdBy: number;
    createdAt: number;
    expiresAt: number;
  }): Promise<InviteRow>;
  /** The invite if it is unused and has not expired by `now`. */
  findUsable(hash: string, now: number): Promise<InviteRow | undefined>;
  /** Unused, unexpired invites, newest first. */
  listUsable(now: number): Promise<ListedInvite[]>;
  /** Deletes an unused invite; false when there is none by that id (or it was used). */
  revoke(id: number): Promise<boolean>;
  /**
   * Creates the user and marks the invite used by them, in one transaction; undefined (and no
   * user made) when the invite is used, expired or unknown. Throws as users.create does.
   */
  redeem(hash: string, now: number, user: NewUser): Promise<UserRow | undefined>;
}

export interface SessionRepository {
  create(session: {
    hash: string;
    userId: number;
    expiresAt: number;
    userAgent: string | null;
  }): Promise<SessionRow>;
  findByHash(hash: string): Promise<{ session: SessionRow; user: UserRow } | undefined>;
  touch(id: number, lastSeenAt: number, expiresAt: number): Promise<void>;
  delete(hash: string): Promise<void>;
  /** Ends every session of the user (but the one named): after a password change, or disabling. */
  deleteForUser(userId: number, exceptHash?: string): Promise<number>;
  deleteExpired(now: number): Promise<number>;
  /** The user's sessions that have not expired by `now`, most recently seen first. */
  listForUser(userId: number, now: number): Promise<SessionRow[]>;
}

export interface NewOAuthApp {
  userId: number;
  name: string;
  clientId: string;
  clientSecretHash: string;
  redirectUris: string[];
}

export interface NewOAuthCode {
  hash: string;
  appId: number;
  userId: number;
  redirectUri: string;
  scopes: string;
  codeChallenge: string | null;
  codeChallengeMethod: string | null;
  expiresAt: number;
}

export interface NewOAuthToken {
  userId: number;
  hash: string;
  prefix: string;
  name: string | null;
  appId: number;
  scopes: string;
}

/** An access token as its user's list shows it: with the name of the app it was granted to. */
export type TokenWithApp = AccessTokenRow & { app_name: string | null };

/** OAuth applications, authorization codes, and the tokens granted through them. */
export interface OAuthRepository {
  createApp(app: NewOAuthApp): Promise<OAuthAppRow>;
  findAppByClientId(clientId: string): Promise<OAuthAppRow | undefined>;
  findAppById(id: number): Promise<OAuthAppRow | undefined>;
  /** Every app (with its owner's name), or one user's. */
  listApps(userId?: number): Promise<Array<OAuthAppRow & { user_name: string }>>;
  setSecretHash(appId: number, hash: string): Promise<boolean>;
  /** Deletes the app with its codes and every token granted to it; false when there was none. */
  deleteApp(appId: number): Promise<boolean>;
  createCode(code: NewOAuthCode): Promise<void>;
  findCode(hash: string): Promise<OAuthCodeRow | undefined>;
  /** Marks the code used; false when it already was (or does not exist): a code is used once. */
  useCode(hash: string, at: number): Promise<boolean>;
  /** Stores the token a code was exchanged for, and records it on the code, in one transaction. */
  issueToken(codeHash: string, token: NewOAuthToken): Promise<AccessTokenRow>;
  /** Revokes the token the code was exchanged for (the code came back); false when none. */
  revokeTokenOfCode(codeHash: string): Promise<boolean>;
  /** The user's access tokens, newest first, with the app each was granted to. */
  listTokens(userId: number): Promise<TokenWithApp[]>;
  /** Revokes one of the user's own tokens; false when they have no such token. */
  revokeToken(userId: number, tokenId: number): Promise<boolean>;
}

export interface FoundCredential {
  credentialId: number;
  user: UserRow;
  /** For an access token granted to an OAuth application: the app; otherwise null. */
  appId: number | null;
  /** For an access token: its space-separated scopes; null for a device (it has every scope). */
  scopes: string | null;
}

/** Access tokens and legacy device ids: secrets stored as hashes, each belonging to a user. */
export interface CredentialRepository<Row> {
  create(userId: number, hash: string, prefix: string, name?: string | null): Promise<Row>;
  /** The credential's id and its user, by the hash of the presented secret. */
  findByHash(hash: string): Promise<FoundCredential | undefined>;
  /**
   * The same answer when it is kept in the process already (the same object each time, until
   * anything is committed); undefined otherwise, which says nothing: ask findByHash.
   */
  cachedByHash(hash: string): FoundCredential | undefined;
  listForUser(userId: number): Promise<Row[]>;
  listAll(): Promise<Array<Row & { user_name: string }>>;
  /** Deletes by id, or by the hash of the secret; true when something was revoked. */
  revoke(idOrHash: number | string): Promise<boolean>;
  touch(id: number, at: number): Promise<void>;
}

export type ImageOwner = Pick<UserRow, 'id' | 'image_count' | 'images_version'>;

/** The searchable text fields; a term without one matches any of them or the OCR text. */
export type SearchField = 'title' | 'desc' | 'app' | 'url' | 'alt_text';

export interface SearchTerm {
  text: string;
  field?: SearchField;
}

export interface SearchCriteria {
  terms: SearchTerm[];
  /** created_at at or after this (ms). */
  since?: number;
  /** created_at before this (ms). */
  before?: number;
}

/** What an owner may change about an image after its upload (absent: left as it is). */
export type ImageChanges = Partial<
  Pick<ImageRow, 'title' | 'desc' | 'alt_text' | 'access_policy' | 'metadata_is_public'>
>;

export interface ImagePage<Row = ImageRow> {
  rows: Row[];
  total: number;
}

/** A page of search results: `total` is exact, or (past SEARCH_COUNT_AHEAD) a lower bound. */
export interface SearchPage extends ImagePage {
  totalIsExact: boolean;
}

export interface ImageRepository {
  /**
   * Commits the image, forgets its pending blob, counts it for its owner and queues `jobs`,
   * atomically: a committed image always has its follow-up work queued.
   */
  insert(row: NewImageRow, pendingId: number, jobs?: NewJob[]): Promise<ImageRow>;
  findByImageId(imageId: string): Promise<ImageRow | undefined>;
  /** The row if it is kept in process and nothing was committed since (no query); else undefined. */
  peekByImageId(imageId: string): ImageRow | undefined;
  /** Some image that uses the blob, if any does. */
  findByBlobKey(blobKey: string): Promise<ImageRow | undefined>;
  /** Marks every image of the blob as undecodable, bumping their owners' images_version. */
  recordDecodeError(blobKey: string, reason: string): Promise<void>;
  /**
   * Stores the image's OCR text and main language (none for no text) and bumps its owner's
   * images_version, in one transaction. Text the image already has (an import brought it) is
   * kept unless `replace`. False when nothing was written (image gone, or text kept).
   */
  recordOcr(
    imageId: string,
    locale: string | null,
    text: string,
    options?: { replace?: boolean },
  ): Promise<boolean>;
  /**
   * Newest first; costs about the same at any depth. The owner's row (as just read, e.g. while
   * authenticating) supplies the total and the version the page bookmarks belong to.
   */
  listByUser(owner: ImageOwner, offset: number, limit: number): Promise<ImagePage<ListedImageRow>>;
  /** The same page as listByUser, as (seq, revision) only: which images, in which state. */
  listRefsByUser(owner: ImageOwner, offset: number, limit: number): Promise<ImageRef[]>;
  /** The listed columns of the user's images with these seqs, in no order; others' are never read. */
  listedBySeq(userId: number, seqs: readonly number[]): Promise<ListedImageRow[]>;
  /**
   * The user's images that match every term (a substring, case-insensitive, of the term's field,
   * or of any of title, desc, app, url, alt text and OCR text) and lie within the time bounds; newest first.
   */
  search(userId: number, criteria: SearchCriteria, offset: number, limit: number): Promise<SearchPage>;
  /**
   * Changes the user's image as `changes` says and bumps the user's images_version, in one
   * transaction (the search index follows by trigger). Undefined when the user has no such image.
   */
  update(imageId: string, userId: number, changes: ImageChanges): Promise<ImageRow | undefined>;
  /**
   * Deletes the image and, in the same transaction, queues collection of its blob when no
   * other image uses it. Undefined when there is no such image of that user.
   */
  delete(imageId: string, userId: number): Promise<ImageRow | undefined>;
  countAll(): Promise<number>;
  /** Every blob key some image uses. */
  allBlobKeys(): Promise<string[]>;
}

/**
 * Images stored but nobody's yet (easy_auth uploads waiting for a browser to claim them). A held
 * image's blob counts as used until its row goes; every change here is one transaction.
 */
export interface HeldImageRepository {
  /** Commits the held image, forgets its pending blob and queues its expiry. */
  hold(row: NewHeldImageRow, pendingId: number): Promise<HeldImageRow>;
  findByTokenHash(hash: string): Promise<HeldImageRow | undefined>;
  /**
   * Records that a browser not signed in opened the link (the first time only, and only while
   * the row has not expired) and moves its expiry to `expiresAt`; undefined when nothing changed.
   */
  startSignIn(id: number, at: number, expiresAt: number): Promise<HeldImageRow | undefined>;
  /**
   * Turns the held image, unless it has expired by `now`, into the user's image (counted, its
   * `jobs` queued). Undefined when it is gone (claimed already) or expired.
   */
  claim(id: number, userId: number, now: number, jobs: NewJob[]): Promise<ImageRow | undefined>;
  /**
   * Deletes the held image if it has expired by `now`, queueing its blob's collection in the same
   * transaction. Undefined when it is gone or not due yet.
   */
  expire(id: number, now: number): Promise<{ blobKey: string } | undefined>;
  /** Every blob key a held image uses. */
  blobKeys(): Promise<string[]>;
}

/** Legacy clients' device ids made on their first upload, linked to nobody yet. */
export interface AnonymousDeviceRepository {
  create(hash: string, prefix: string, addressHash: string, at: number): Promise<AnonymousDeviceRow>;
  findByHash(hash: string): Promise<AnonymousDeviceRow | undefined>;
  /** How many devices the address made since then. */
  countCreatedSince(addressHash: string, since: number): Promise<number>;
  /** How many of its uploads wait to be linked. */
  countHeld(deviceId: number): Promise<number>;
  touch(id: number, at: number): Promise<void>;
  /**
   * In one transaction: the device becomes one of the user's devices (same id), and its held
   * uploads the user's images (each with `jobsFor` queued); those past their time are collected
   * instead. Undefined when the device is gone (linked already).
   */
  link(
    deviceId: number,
    userId: number,
    now: number,
    jobsFor: (held: HeldImageRow) => NewJob[],
  ): Promise<ImageRow[] | undefined>;
}

/** Bookkeeping that lets blob bytes and metadata rows agree after any crash. */
export interface BlobLedger {
  /**
   * Registers an upload about to write the blob's bytes (and commit its image with `pendingId`).
   * Waits while a collector is deleting that blob's files, so the bytes are written after that.
   */
  addPending(blobKey: string, at: number): Promise<number>;
  removePending(id: number): Promise<void>;
  /**
   * The blobs a sweep must collect (if unused) to leave no orphan: those of uploads registered
   * before `before` (dead: they never committed), and those a collector decided to remove and did
   * not finish (it started before `before`, its deletes failed, or its lease is up).
   */
  keysToSweep(before: number): Promise<string[]>;
  /**
   * Runs `remove` only if no image, held image or pending upload uses the key: decided under the
   * blob's named lock and committed, then `remove` runs outside any transaction while uploads of
   * the key wait (see addPending), so no upload can start to rely on the blob while it is removed.
   * `deadBefore` (a sweep): pending uploads of the key registered before it are dropped in the
   * deciding transaction, and a collection of it started before it is taken over.
   */
  collectIfUnused(
    blobKey: string,
    remove: () => Promise<void>,
    options?: { deadBefore?: number },
  ): Promise<boolean>;
  /** All keys with a pending upload. */
  pendingKeys(): Promise<string[]>;
}

export interface NewJob {
  kind: string;
  payload: unknown;
  runAt?: number;
}

/** A job as a claim hands it out: its lease belongs to `lease_owner`. */
export type ClaimedJob = JobRow & { lease_owner: string };

export interface JobCounts {
  kind: string;
  /** Due now or later, not leased (or its lease expired: it will run again). */
  pending: number;
  /** Leased, the lease still valid. */
  running: number;
  /** Given up on; `last_error` says why. */
  failed: number;
}

export type FailedJob = Pick<JobRow, 'id' | 'kind' | 'payload' | 'attempts'> & {
  failed_at: number;
  last_error: string;
};

export interface JobRepository {
  enqueue(job: NewJob): Promise<void>;
  /** Enqueues all of them in one transaction. */
  enqueueMany(jobs: NewJob[]): Promise<void>;
  /**
   * Leases up to `limit` due jobs until `now + leaseMs` under a new random owner token; an
   * expired lease makes a job due again (and the next claim takes it over with its own token).
   */
  claim(kinds: string[], limit: number, now: number, leaseMs: number): Promise<ClaimedJob[]>;
  /** Deletes the job if `owner` still holds its lease; false (and nothing changed) otherwise. */
  complete(id: number, owner: string): Promise<boolean>;
  /**
   * Records a failure if `owner` still holds the lease: retried at `retryAt`, or given up on
   * when `retryAt` is null. False (and nothing changed) when the lease is someone else's.
   */
  fail(id: number, owner: string, error: string, retryAt: number | null, now: number): Promise<boolean>;
  countPending(): Promise<number>;
  /** Pending, running and failed jobs of each kind in the table. */
  counts(now: number): Promise<JobCounts[]>;
  /** The most recent failures, newest first. */
  listFailed(limit: number): Promise<FailedJob[]>;
  /**
   * Queues a job of `kind` with payload `{imageId}` for each of these images (every image when
   * undefined) that has none queued or running; failed ones of the kind are replaced. Answers
   * how many were queued. Ids of no image are skipped.
   */
  queueForImages(kind: string, imageIds: string[] | undefined): Promise<number>;
  /**
   * Makes every leased job due again, expired or not: only for a start-up that knows no other
   * process can hold a lease (SQLite, under the serve lock). Expired leases need nothing: a claim
   * takes them over.
   */
  releaseLeases(): Promise<void>;
}

/** What an image row needs on disk: its blob, `byte_size` bytes whose SHA-256 is `blob_key`. */
export type ImageFileRow = Pick<
  ImageRow,
  'seq' | 'image_id' | 'user_id' | 'blob_key' | 'byte_size' | 'type' | 'decode_error'
>;

/** For checking and copying a data dir: its identity, and the files its rows refer to. */
export interface IntegrityRepository {
  /** A random id made when this database was created; a backup's copy keeps it. */
  dataDirId(): Promise<string>;
  /** Every image in blob-key order (rows sharing a blob come together), a page after `after`. */
  imageFiles(after: { blobKey: string; seq: number } | undefined, limit: number): Promise<ImageFileRow[]>;
  imagesUsingBlob(blobKey: string): Promise<Array<{ image_id: string; user_id: number }>>;
  /** Blob keys of deleted images whose files a queued job will remove. */
  blobKeysAwaitingCollection(): Promise<string[]>;
  /** Blob keys whose thumbnail a queued job has yet to make. */
  blobKeysAwaitingThumbnail(): Promise<string[]>;
}

export interface ImportRecord {
  source: string;
  source_image_id: string;
  /** Undefined for an import begun and not known to have finished. */
  image_id: string | null;
}

/** What `gazo import` has brought into each account, by source image id. */
export interface ImportSourceRepository {
  listForUser(userId: number): Promise<ImportRecord[]>;
  /** Records that an import of the image begins (kept as it is when already recorded). */
  begin(userId: number, source: string, sourceImageId: string, at: number): Promise<void>;
  /**
   * Records the import as done; with `ocr`, also gives the image the source's OCR text (the
   * upload path takes none), in the same transaction.
   */
  finish(
    userId: number,
    source: string,
    sourceImageId: string,
    imageId: string,
    at: number,
    ocr?: { locale: string | null; text: string },
  ): Promise<void>;
  /**
   * The user's image with these bytes uploaded since the begun import of this source image,
   * which no other import claims: what a cut-short import left behind, if anything.
   */
  findUnclaimedCopy(
    userId: number,
    source: string,
    sourceImageId: string,
    blobKey: string,
  ): Promise<string | undefined>;
}
