import path from 'node:path';

/** Everything Gazo can be told, read once at start from flags, `GAZO_*` environment and defaults. */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** The four public origins of COMPAT.md; each defaults to `baseUrl`. */
  urls: {
    base: string;
    api: string;
    upload: string;
    web: string;
    image: string;
  };
  limits: {
    /** Largest accepted upload, in bytes; more answers 413. */
    maxUploadBytes: number;
    /** Largest accepted canvas (width × height); more is refused before decoding. */
    maxPixels: number;
  };
  /** Longest side of a thumbnail, in pixels. */
  thumbSize: number;
  /** Bytes of hot images kept in memory for serving. */
  imageCacheBytes: number;
  logLevel: string;
  /** Serve originals as uploaded, EXIF and all, instead of stripping identifying metadata. */
  keepMetadata: boolean;
}

export interface ConfigInput {
  host?: string;
  port?: string | number;
  dataDir?: string;
  baseUrl?: string;
  apiUrl?: string;
  uploadUrl?: string;
  webUrl?: string;
  imageUrl?: string;
  maxUploadBytes?: string | number;
  maxPixels?: string | number;
  logLevel?: string;
  keepMetadata?: boolean | string;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 3000,
  dataDir: './data',
  maxUploadBytes: 50 * 1024 * 1024,
  maxPixels: 100_000_000,
  thumbSize: 500,
  imageCacheBytes: 128 * 1024 * 1024,
  logLevel: 'warn',
  keepMetadata: false,
} as const;

export class ConfigError extends Error {}

function positiveInt(name: string, value: string | number | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new ConfigError(`${name} must be a whole number, got "${value}"`);
  return n;
}

function yesNo(name: string, value: boolean | string | undefined, fallback: boolean): boolean {
  if (value === undefined || typeof value === 'boolean') return value ?? fallback;
  const word = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(word)) return true;
  if (['0', 'false', 'no', 'off'].includes(word)) return false;
  throw new ConfigError(`${name} must be true or false, got "${value}"`);
}

function origin(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must be an http(s) URL, got "${value}"`);
  }
  // Keep any path prefix (for a proxy that mounts Gazo under /gazo) but never a trailing slash.
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/**
 * Flags win over environment, environment over defaults. `env` is passed in so that nothing
 * below the CLI reads `process.env`.
 */
export function loadConfig(flags: ConfigInput, env: NodeJS.ProcessEnv): Config {
  const pick = (flag: string | number | undefined, envName: string) =>
    flag !== undefined ? flag : env[envName] !== undefined && env[envName] !== '' ? env[envName] : undefined;

  const host = String(pick(flags.host, 'GAZO_HOST') ?? DEFAULTS.host);
  const port = positiveInt('port', pick(flags.port, 'GAZO_PORT'), DEFAULTS.port);
  if (port > 65535) throw new ConfigError(`port must be at most 65535, got ${port}`);
  const dataDir = path.resolve(String(pick(flags.dataDir, 'GAZO_DATA_DIR') ?? DEFAULTS.dataDir));

  const publicHost =
    host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const base = origin(
    'base URL',
    String(pick(flags.baseUrl, 'GAZO_BASE_URL') ?? `http://${publicHost}:${port}`),
  );
  const each = (flag: string | undefined, envName: string, label: string) => {
    const v = pick(flag, envName);
    return v === undefined ? base : origin(label, String(v));
  };

  return {
    host,
    port,
    dataDir,
    urls: {
      base,
      api: each(flags.apiUrl, 'GAZO_API_URL', 'API URL'),
      upload: each(flags.uploadUrl, 'GAZO_UPLOAD_URL', 'upload URL'),
      web: each(flags.webUrl, 'GAZO_WEB_URL', 'web URL'),
      image: each(flags.imageUrl, 'GAZO_IMAGE_URL', 'image URL'),
    },
    limits: {
      maxUploadBytes: positiveInt(
        'max upload bytes',
        pick(flags.maxUploadBytes, 'GAZO_MAX_UPLOAD_BYTES'),
        DEFAULTS.maxUploadBytes,
      ),
      maxPixels: positiveInt('max pixels', pick(flags.maxPixels, 'GAZO_MAX_PIXELS'), DEFAULTS.maxPixels),
    },
    thumbSize: DEFAULTS.thumbSize,
    imageCacheBytes: positiveInt('image cache bytes', env.GAZO_IMAGE_CACHE_BYTES, DEFAULTS.imageCacheBytes),
    logLevel: String(pick(flags.logLevel, 'GAZO_LOG_LEVEL') ?? DEFAULTS.logLevel),
    keepMetadata: yesNo(
      'keep metadata',
      flags.keepMetadata ?? (env.GAZO_KEEP_METADATA || undefined),
      DEFAULTS.keepMetadata,
    ),
  };
}
