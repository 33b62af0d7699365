import { assertBlobKey, originalKey, thumbnailKey } from '../blobs/blob-store.ts';

/** What a key listed from a blob store says, for the sweeps that judge every file (fsck, backup). */
export function describeKey(
  key: string,
  thumbSize: number,
): { valid: boolean; hash: string; current: boolean } {
  const hash = key.slice(key.lastIndexOf('/') + 1);
  let valid = true;
  try {
    assertBlobKey(key);
  } catch {
    valid = false;
  }
  // An image uses its original and its thumbnail at today's size; other sizes are never read.
  const current = valid && (key === originalKey(hash) || key === thumbnailKey(hash, thumbSize));
  return { valid, hash, current };
}
