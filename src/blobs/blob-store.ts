/**
 * Where image bytes live. Keys are made by Gazo from content hashes (`orig/<sha256>`,
 * `thumb/<size>/<sha256>`), so the bytes under a key never change.
 */
export interface BlobStore {
  /** Stores the bytes durably and atomically: after it resolves, a crash cannot lose or tear them. */
  put(key: string, data: Buffer): Promise<void>;
  /** The bytes, or undefined when there is no such blob. */
  read(key: string): Promise<Buffer | undefined>;
  exists(key: string): Promise<boolean>;
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
