import type { Readable } from 'node:stream';

/** What a backend knows about a stored blob without reading its bytes. */
export interface BlobStat {
  size: number;
  /**
   * The backend's validator for these bytes (S3's ETag; the content hash for the folder). HTTP
   * ETags are made from the image row's key instead, so that a 304 needs no backend call at all.
   */
  etag: string;
}

/** Bytes `start` to `end`, both included, as in an HTTP `Range` header; within the blob. */
export interface ByteRange {
  start: number;
  end: number;
}

/** Response headers a direct (presigned) URL makes the backend send with the bytes. */
export interface DirectUrlHeaders {
  contentType: string;
  cacheControl: string;
  contentDisposition: string;
}

/**
 * Where image bytes live. Keys are made by Gazo from content hashes (`orig/<sha256>`,
 * `thumb/<size>/<sha256>`), so the bytes under a key never change and storing a key again
 * (a second upload of the same bytes, a retried job) is harmless.
 */
export interface BlobStore {
  /** Stores the bytes durably and atomically: after it resolves, a crash cannot lose or tear them. */
  put(key: string, data: Buffer): Promise<void>;
  /**
   * Takes over a file written to a `stagingPath()` and stores it under `key` as durably as
   * `put`. Storing a key that exists already replaces it with the same bytes: the cost is the
   * same either way, so a put does not tell whether anyone stored these bytes before. The file
   * is gone afterwards, whether the put succeeded or not. With `synced`, the caller fsynced the
   * file already (see `stagedFilesBecomeBlobs`).
   */
  putFile(key: string, file: string, options?: { synced?: boolean }): Promise<void>;
  /**
   * Whether `putFile` keeps the staged file itself (renamed into place, on the folder store):
   * then an upload's staged file is fsynced while the upload is checked, off its critical path.
   * Elsewhere (S3) that fsync would be wasted.
   */
  readonly stagedFilesBecomeBlobs: boolean;
  /** Stores what `source` carries, as durably as `put`; if the stream fails, nothing is stored. */
  putStream(key: string, source: Readable): Promise<void>;
  /** A fresh path for a staged upload, on local disk (beside the blobs, for the folder store). */
  stagingPath(): Promise<string>;
  /** Bytes free where the blobs are written, when the backend can tell. */
  freeBytes(): Promise<number | undefined>;
  /** The whole blob in memory (for small files: thumbnails, hot originals), or undefined when missing. */
  read(key: string): Promise<Buffer | undefined>;
  /** The blob's bytes if this store holds them in memory now (no I/O, no promise); else undefined. */
  peek?(key: string): Buffer | undefined;
  /** The blob's bytes, or a range of them, as a stream; undefined when there is no such blob. */
  stream(key: string, range?: ByteRange): Promise<Readable | undefined>;
  /** Size and validator without reading the bytes; undefined when there is no such blob. */
  stat(key: string): Promise<BlobStat | undefined>;
  exists(key: string): Promise<boolean>;
  /**
   * Runs `use` with a path on this machine holding the blob (for decoders that take a file):
   * the blob's own file for the folder store, a temporary copy (removed afterwards) for S3.
   * Undefined, without calling `use`, when there is no such blob.
   */
  withLocalFile<T>(key: string, use: (file: string) => Promise<T>): Promise<T | undefined>;
  /** Removes the blob; removing a missing blob is not an error. */
  delete(key: string): Promise<void>;
  /** Every blob key stored (nothing else the backend may hold), for sweeps and checks. */
  list(): AsyncIterable<string>;
  /**
   * Clears what interrupted writes left behind, and only that: temporary files of processes
   * that are provably gone, or too old to be anyone's work in progress (see StagingDir).
   */
  sweepIncomplete(): Promise<void>;
  /**
   * A URL from which a client may fetch the blob itself for a while, with these response
   * headers; undefined when the backend does not hand out such URLs (or is not set to).
   */
  directUrl(key: string, headers: DirectUrlHeaders): Promise<string | undefined>;
}

const KEY = /^(orig|thumb\/\d{1,5})\/[0-9a-f]{64}$/;

export function assertBlobKey(key: string): void {
  if (!KEY.test(key)) throw new Error(`invalid blob key: ${key}`);
}

export const isBlobKey = (key: string) => KEY.test(key);

export const originalKey = (hash: string) => `orig/${hash}`;
export const thumbnailKey = (hash: string, size: number) => `thumb/${size}/${hash}`;
