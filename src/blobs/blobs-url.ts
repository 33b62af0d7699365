import type { S3Location } from './s3-blob-store.ts';

/** Where the blobs live: the folder under the data dir (the default), or an S3-compatible bucket. */
export type BlobsConfig =
  | { kind: 'folder' }
  | {
      kind: 's3';
      location: S3Location;
      /** Raw originals are answered by a redirect to a presigned URL valid this long (seconds). */
      presignSeconds?: number;
    };

/** How long a presigned URL handed out by a redirect stays valid. */
export const PRESIGN_SECONDS = 15 * 60;

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const OPTIONS = new Set(['endpoint', 'region', 'presign']);

/** Whatever sits before an `@` may be a key pair pasted in by mistake: never echo it. */
const redacted = (value: string) => value.replace(/^([^:]*:\/\/)[^@/]*@/, '$1…@');

/**
 * `--blobs` / GAZO_BLOBS: nothing for the folder, or `s3://bucket[/prefix]?endpoint=…&region=…
 * [&presign=1]`. Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
 * (/ AWS_SESSION_TOKEN) when set, else from the SDK's usual chain (profiles, instance roles);
 * the region from the URL, else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1.
 */
export function parseBlobsUrl(value: string | undefined, env: NodeJS.ProcessEnv): BlobsConfig {
  if (value === undefined || value.trim() === '') return { kind: 'folder' };
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 's3:') {
    throw new Error(
      `blobs must be an s3://bucket?endpoint=…&region=… URL (or unset, for the data dir), got "${redacted(value)}"`,
    );
  }
  if (url.username || url.password) {
    throw new Error('blobs URL must not carry credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  }
  const bucket = url.hostname;
  if (!BUCKET.test(bucket)) throw new Error(`blobs URL: "${bucket}" is not an S3 bucket name`);
  for (const name of url.searchParams.keys()) {
    if (!OPTIONS.has(name))
      throw new Error(`blobs URL: unknown option "${name}" (known: ${[...OPTIONS].join(', ')})`);
  }
  const endpoint = url.searchParams.get('endpoint') ?? undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint)) {
    throw new Error(`blobs URL: endpoint must be an http(s) URL, got "${redacted(endpoint)}"`);
  }
  const presign = url.searchParams.get('presign');
  if (presign !== null && presign !== '0' && presign !== '1') {
    throw new Error(`blobs URL: presign must be 1 or 0, got "${presign}"`);
  }
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  const location: S3Location = {
    bucket,
    prefix: prefix ? `${prefix}/` : '',
    region: url.searchParams.get('region') || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    ...(endpoint !== undefined && { endpoint }),
    ...(accessKeyId &&
      secretAccessKey && {
        credentials: {
          accessKeyId,
          secretAccessKey,
          ...(env.AWS_SESSION_TOKEN && { sessionToken: env.AWS_SESSION_TOKEN }),
        },
      }),
  };
  return { kind: 's3', location, ...(presign === '1' && { presignSeconds: PRESIGN_SECONDS }) };
}
