/**
 * Where image bytes live. Keys are made by Gazo from content hashes (`orig/<sha256>`,
 * `thumb/<size>/<sha256>`), so the bytes under a key never change.
 */
export interface BlobStore {
  /** Stores the bytes durably and atomically: after it resolves, a crash cannot lose or tear them. */
  put(key: string, data: Buffer): Promise<void>;
  /**
   * Takes over a file written to a `stagingPath()` and stores it under `key` as durably as
   * `put`. Storing a key that exists already replaces it with the same bytes: the cost is the
   * same either way, so a put does not tell whether anyone stored these bytes before.
   */
  putFile(key: string, file: string): Promise<void>;
  /** A fresh path for a staged upload, on the same disk as the blobs where that matters. */
  stagingPath(): Promise<string>;
  /** Bytes free where the blobs are written, when the backend can tell. */
  freeBytes(): Promise<number | undefined>;
  /** The bytes, or undefined when there is no such blob. */
  read(key: string): Promise<Buffer | undefined>;
  exists(key: string): Promise<boolean>;
  /**
   * A path on this machine to read the blob from (for decoders that take a file), or
   * undefined when there is no such blob.
   */
  localFile(key: string): Promise<string | undefined>;
  /** Removes the blob; removing a missing blob is not an error. */
  delete(key: string): Promise<void>;
  /** Every key stored, for sweeps and checks. */
  list(): AsyncIterable<string>;
  /** Clears what an interrupted write may have left behind. */
  sweepIncomplete(): Promise<void>;
}

const KEY = /^(orig|thumb\/\d{1,5})\/[0-9a-f]{64}$/;

export function assertBlobKey(key: string): void {
  if (!KEY.test(key)) throw new Error(`invalid blob key: ${key}`);
}

export const originalKey = (hash: string) => `orig/${hash}`;
export const thumbnailKey = (hash: string, size: number) => `thumb/${size}/${hash}`;
