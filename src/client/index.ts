/** The typed Gazo SDK: `import { GazoClient } from 'gazo/client'`. */
export { GazoApiError, parseRetryAfter } from './errors.ts';
export { defaultUploadUrl, GazoClient, type GazoClientOptions } from './gazo-client.ts';
export type {
  AccessPolicy,
  GazoErrorBody,
  GazoImage,
  GazoOembed,
  GazoUserMe,
  ImageList,
  PageOptions,
  UploadOptions,
} from './types.ts';
