import type {
  AccessTokenRow,
  DeviceRow,
  ImageRow,
  JobRow,
  ListedImageRow,
  NewImageRow,
  UserRow,
} from './schema.ts';

/**
 * The metadata store as the services see it. One implementation speaks SQL through Kysely
 * (SQLite now, PostgreSQL later); unit tests can hand the services fakes of these instead.
 */
export interface MetadataStore {
  users: UserRepository;
  tokens: CredentialRepository<AccessTokenRow>;
  devices: CredentialRepository<DeviceRow>;
  images: ImageRepository;
  blobLedger: BlobLedger;
  jobs: JobRepository;
  /** Writes a consistent snapshot of the whole database to `file`, while it stays in use. */
  backupTo(file: string): Promise<void>;
  close(): Promise<void>;
}

export interface NewUser {
  uid: string;
  name: string;
  email: string | null;
  passwordHash: string | null;
}

export interface UserRepository {
  create(user: NewUser): Promise<UserRow>;
  findById(id: number): Promise<UserRow | undefined>;
  findByName(name: string): Promise<UserRow | undefined>;
  list(): Promise<UserRow[]>;
}

/** Access tokens and legacy device ids: secrets stored as hashes, each belonging to a user. */
export interface CredentialRepository<Row> {
  create(userId: number, hash: string, prefix: string, name?: string | null): Promise<Row>;
  /** The credential's id and its user, by the hash of the presented secret. */
  findByHash(hash: string): Promise<{ credentialId: number; user: UserRow } | undefined>;
  listForUser(userId: number): Promise<Row[]>;
  listAll(): Promise<Array<Row & { user_name: string }>>;
  /** Deletes by id, or by the hash of the secret; true when something was revoked. */
  revoke(idOrHash: number | string): Promise<boolean>;
  touch(id: number, at: number): Promise<void>;
}

export type ImageOwner = Pick<UserRow, 'id' | 'image_count' | 'images_version'>;

export interface ImagePage<Row = ImageRow> {
  rows: Row[];
  total: number;
}

export interface ImageRepository {
  /** Commits the image, forgets its pending blob and counts it for its owner, atomically. */
  insert(row: NewImageRow, pendingId: number): Promise<ImageRow>;
  findByImageId(imageId: string): Promise<ImageRow | undefined>;
  /**
   * Newest first; costs about the same at any depth. The owner's row (as just read, e.g. while
   * authenticating) supplies the total and the version the page bookmarks belong to.
   */
  listByUser(owner: ImageOwner, offset: number, limit: number): Promise<ImagePage<ListedImageRow>>;
  /** Every term must match (substring, case-insensitive) in title, desc, app, url or OCR text. */
  search(userId: number, terms: string[], offset: number, limit: number): Promise<ImagePage>;
  /**
   * Deletes the image and, in the same transaction, queues collection of its blob when no
   * other image uses it. Undefined when there is no such image of that user.
   */
  delete(imageId: string, userId: number): Promise<ImageRow | undefined>;
  countAll(): Promise<number>;
  /** Every blob key some image uses. */
  allBlobKeys(): Promise<string[]>;
}

/** Bookkeeping that lets blob bytes and metadata rows agree after any crash. */
export interface BlobLedger {
  addPending(blobKey: string, at: number): Promise<number>;
  removePending(id: number): Promise<void>;
  /** Removes pending entries created before `before`, returning their blob keys. */
  takeStalePending(before: number): Promise<string[]>;
  /**
   * Runs `remove` only if no image and no pending upload uses the key, holding the write
   * lock meanwhile so that no upload can start to rely on the blob while it is being removed.
   */
  collectIfUnused(blobKey: string, remove: () => Promise<void>): Promise<boolean>;
  /** All keys with a pending upload. */
  pendingKeys(): Promise<string[]>;
}

export interface NewJob {
  kind: string;
  payload: unknown;
  runAt?: number;
}

export interface JobRepository {
  enqueue(job: NewJob): Promise<void>;
  /** Leases up to `limit` due jobs until `now + leaseMs`; an expired lease makes a job due again. */
  claim(kinds: string[], limit: number, now: number, leaseMs: number): Promise<JobRow[]>;
  complete(id: number): Promise<void>;
  /** Records a failure: retried at `retryAt`, or given up on when `retryAt` is null. */
  fail(id: number, error: string, retryAt: number | null, now: number): Promise<void>;
  countPending(): Promise<number>;
  /** Makes every leased job due again: at start-up, when no other worker can hold a lease. */
  releaseLeases(): Promise<void>;
}
