import { randomBytes } from 'node:crypto';
import type { NewImageRow } from '../../src/store/schema.ts';

/**
 * An image row for inserting straight into the store (many images fast, or as another process
 * would): random id and blob key, a 1×1 PNG with no metadata, unless `overrides` say otherwise.
 */
export function imageRow(
  userId: number,
  createdAt: number,
  overrides: Partial<NewImageRow> = {},
): NewImageRow {
  return {
    image_id: randomBytes(16).toString('hex'),
    user_id: userId,
    blob_key: randomBytes(32).toString('hex'),
    type: 'png',
    byte_size: 1,
    width: 1,
    height: 1,
    created_at: createdAt,
    uploaded_at: createdAt,
    app: null,
    title: null,
    url: null,
    desc: '',
    metadata_is_public: false,
    access_policy: 'anyone',
    ocr_locale: null,
    ocr_text: '',
    ...overrides,
  };
}
