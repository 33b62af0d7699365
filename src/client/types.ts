import type { Static } from 'typebox';
import type { ErrorSchema, OembedSchema, UserMeSchema, WireImageSchema } from '../http/schemas.ts';

/**
 * What the API answers, typed from the very schemas the server validates and serialises with.
 * Type-only imports: the SDK loads neither Fastify nor TypeBox at run time.
 */
export type GazoImage = Static<typeof WireImageSchema>;
export type GazoUserMe = Static<typeof UserMeSchema>;
export type GazoOembed = Static<typeof OembedSchema>;
export type GazoErrorBody = Static<typeof ErrorSchema>;

export type AccessPolicy = GazoImage['access_policy'];

/** One page of `GET /api/images` or `GET /api/search`, with what its headers said. */
export interface ImageList {
  images: GazoImage[];
  /** `X-Total-Count`; undefined when the server sends none. */
  totalCount?: number;
  currentPage?: number;
  perPage?: number;
  /** `X-User-Type`: `lite` or `ninja` on gyazo.com. */
  userType?: string;
}

export interface UploadOptions {
  title?: string;
  desc?: string;
  /** The page the image came from (`referer_url`). */
  refererUrl?: string;
  app?: string;
  /** A Date, or Unix time in seconds (fractions allowed). */
  createdAt?: Date | number;
  accessPolicy?: AccessPolicy;
  metadataIsPublic?: boolean;
  collectionId?: string;
  /** The file name sent with the bytes; servers ignore it. */
  filename?: string;
  /** Told how many bytes of the request have been sent, of how many, as they go. */
  onProgress?: (sent: number, total: number) => void;
}

export interface PageOptions {
  page?: number;
  perPage?: number;
}
