import { IMAGE_TYPES, type ImageType } from '../../imaging/imaging.ts';
import type { ImageRow } from '../../store/schema.ts';

export const contentType = (type: string) => IMAGE_TYPES[type as ImageType] ?? 'application/octet-stream';

export const cacheControl = (row: ImageRow) =>
  row.access_policy === 'anyone' && !row.decode_error
    ? 'public, max-age=31536000, immutable'
    : 'private, no-cache';

/**
 * The headers of stored image bytes: a strong ETag (content hash), immutable caching for public
 * images, and headers that stop a browser from ever treating them as anything but an image.
 */
export const imageHeaderValues = (row: ImageRow, etag: string, type: string = row.type) => ({
  'content-type': contentType(type),
  etag,
  'cache-control': cacheControl(row),
  'content-security-policy': "default-src 'none'; sandbox",
  'cross-origin-resource-policy': 'cross-origin',
  'content-disposition': 'inline',
});

/** An original's ETag: its content hash, which is its blob key. */
export const originalEtag = (row: ImageRow) => `"${row.blob_key}"`;

/** The headers of a whole original: its image headers, and that it may be asked for in ranges. */
export const originalHeaderValues = (row: ImageRow) => ({
  ...imageHeaderValues(row, originalEtag(row)),
  'accept-ranges': 'bytes',
});
