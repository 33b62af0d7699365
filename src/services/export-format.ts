import type { GazoImage } from '../client/index.ts';

/**
 * The export layout `gazo export` writes and `gazo import --from-export` reads, as a folder or
 * the same tree in a zip:
 *   images.jsonl            one image object per line, plus the fields below
 *   images/<id>.<type>      the uploaded bytes, unchanged
 */
export const EXPORT_INDEX = 'images.jsonl';

export interface ExportLine extends GazoImage {
  /** Path of the image file inside the export. */
  file: string;
  /** Not in the API's image object, but part of what an image is. */
  metadata_is_public: boolean;
  /** `created_at` to the millisecond (the image object's has whole seconds). */
  created_at_ms: number;
  /** The account the image belongs to. */
  user: string;
}

export const exportFileName = (imageId: string, type: string) => `images/${imageId}.${type}`;

/** A path an export may name: inside `images/`, nothing that climbs out of the export. */
export const SAFE_EXPORT_FILE = /^images\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
