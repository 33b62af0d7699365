import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type BlobsConfig, parseBlobsUrl } from './blobs/blobs-url.ts';
import { parseLanguages } from './ocr/languages.ts';

/** Everything Gazo can be told, read once at start from flags, `GAZO_*` environment and defaults. */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** Where image bytes live: the folder `<dataDir>/blobs` (default) or an S3 bucket. */
  blobs: BlobsConfig;
  /** Where the metadata lives: SQLite in the data dir (the default), or a PostgreSQL server. */
  database: { kind: 'sqlite' } | { kind: 'postgres'; url: string };
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
    /** Memory that image decodes may take at once; more waits (see DecodeBudget). */
    decodeMemoryBytes: number;
    /** Free space uploads leave on the blob disk, so that deletes and the database still work. */
    diskReserveBytes: number;
  };
  /** Longest side of a thumbnail, in pixels. */
  thumbSize: number;
  /** Bytes of hot images kept in memory for serving. */
  imageCacheBytes: number;
  /** Bytes of listed images' JSON kept in memory, by image and revision; 0 keeps none. */
  listCacheBytes: number;
  logLevel: string;
  /** Connections: who is believed about the client address, and how long anyone may hold a socket. */
  network: {
    /** Off (`false`), the proxies' addresses/CIDRs, or how many proxy hops to believe. */
    trustProxy: false | string[] | number;
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    idleTimeoutMs: number;
    maxConnections: number;
  };
  /** Abuse limits, counted in this process's memory; 0 turns one off. */
  rateLimits: {
    /** Failed authentications per client address per minute before it is answered 429. */
    maxAuthFailuresPerMinute: number;
    /** Requests one token (or device id) may make per day. */
    maxRequestsPerTokenPerDay: number;
  };
  /** Serve originals as uploaded, EXIF and all, instead of stripping identifying metadata. */
  keepMetadata: boolean;
  /** The legacy desktop-client protocol (upload.cgi). */
  legacy: {
    /** An upload with an empty device id makes a device, linked later from a browser (off: 401). */
    anonymousDevices: boolean;
  };
  /** The web side: who may sign up. */
  web: {
    /** `closed`: users come from `gazo user create` or an admin's invite link; `open`: anyone may sign up. */
    registration: 'open' | 'closed';
  };
  /** Reading the text in images. */
  ocr: {
    enabled: boolean;
    /** `tesseract.js` (WebAssembly, models from npm; the default) or `tesseract` (the installed command). */
    engine: 'tesseract.js' | 'tesseract';
    /** Tesseract language codes joined by `+`; the first is the main one. */
    languages: string;
    /**
     * tesseract.js's models: `auto` (tesseract's installed models where there are, else npm's),
     * `npm`, or a folder of `<code>.traineddata` files.
     */
    models: string;
    /** Reads at once: tesseract.js worker threads, or tesseract processes. */
    workers: number;
    /** A read taking longer is stopped (its worker killed) and the job retried later. */
    timeoutMs: number;
  };
}

export interface ConfigInput {
  host?: string;
  port?: string | number;
  dataDir?: string;
  /** `s3://bucket?endpoint=…&region=…`; unset for the folder under the data dir. */
  blobs?: string;
  /** `--database postgres://…` (env GAZO_DATABASE_URL). */
  database?: string;
  baseUrl?: string;
  apiUrl?: string;
  uploadUrl?: string;
  webUrl?: string;
  imageUrl?: string;
  maxUploadBytes?: string | number;
  maxPixels?: string | number;
  decodeMemoryMb?: string | number;
  logLevel?: string;
  trustProxy?: string | number;
  headersTimeout?: string | number;
  requestTimeout?: string | number;
  idleTimeout?: string | number;
  maxConnections?: string | number;
  maxAuthFailuresPerMinute?: string | number;
  maxRequestsPerTokenPerDay?: string | number;
  keepMetadata?: boolean | string;
  /** False for `--no-ocr`; commander gives true when the flag is absent. */
  ocr?: boolean | string;
  ocrLanguages?: string;
  ocrEngine?: string;
  registration?: string;
  legacyAnonymousDevices?: boolean | string;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 3000,
  dataDir: './data',
  maxUploadBytes: 50 * 1024 * 1024,
  maxPixels: 100_000_000,
  decodeMemoryMb: 512,
  diskReserveBytes: 64 * 1024 * 1024,
  thumbSize: 500,
  imageCacheBytes: 128 * 1024 * 1024,
  // About 130,000 images' JSON (500 bytes each with no OCR text): the whole list of a large user.
  listCacheBytes: 64 * 1024 * 1024,
  logLevel: 'warn',
  // Seconds. Headers arrive within a second even on a slow link; 15 s is generous.
  headersTimeout: 15,
  // A whole request may take 10 minutes: a 50 MiB upload (the default limit) over a 1 Mbit/s
  // uplink takes about 7. Raise it together with --max-upload-bytes.
  requestTimeout: 600,
  // Longer than the idle timeout of common proxies and load balancers (60 s), so that they
  // close a kept-alive connection first and never send on one we have just closed.
  idleTimeout: 72,
  // Well under the usual limit of 1024 open files, which the database and images share.
  maxConnections: 512,
  maxAuthFailuresPerMinute: 30,
  maxRequestsPerTokenPerDay: 0,
  keepMetadata: false,
  ocrLanguages: 'eng+jpn',
  ocrEngine: 'tesseract.js',
  // One tesseract.js worker reads about one 1280×720 screenshot a second: two on two cores
  // double that, and run at a lower priority (engine.ts) so requests still come first. More
  // would add ~100 MB each for a backlog only a large import builds; GAZO_OCR_WORKERS raises it.
  ocrWorkers: Math.min(2, os.availableParallelism()),
  // Seconds. A 1280×720 screenshot takes about a second; a huge one a few.
  ocrTimeout: 60,
} as const;

export class ConfigError extends Error {}

function positiveInt(name: string, value: string | number | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new ConfigError(`${name} must be a whole number, got "${value}"`);
  return n;
}

function atLeastOne(name: string, value: string | number | undefined, fallback: number): number {
  const n = positiveInt(name, value, fallback);
  if (n < 1) throw new ConfigError(`${name} must be at least 1, got "${value}"`);
  return n;
}

/** Proxy-addr's named ranges, which Fastify's trustProxy also takes. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isAddressOrCidr(entry: string): boolean {
  if (NAMED_RANGES.has(entry) || net.isIP(entry)) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  if (rest.length > 0 || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  const family = net.isIP(address);
  return family !== 0 && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** `--trust-proxy`: nothing (off), a hop count, or a comma-separated list of addresses and CIDRs. */
function trustProxy(value: string | number | undefined): false | string[] | number {
  if (value === undefined || value === '' || value === 'false' || value === 'off') return false;
  if (typeof value === 'number' || /^\d+$/.test(value)) {
    const hops = positiveInt('trust proxy', value, 0);
    return hops === 0 ? false : hops;
  }
  const entries = value
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const bad = entries.find((e) => !isAddressOrCidr(e));
  if (bad !== undefined || entries.length === 0) {
    throw new ConfigError(
      `trust proxy must be a hop count or a comma-separated list of addresses or CIDRs, got "${bad ?? value}"`,
    );
  }
  return entries;
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

  const decodeMemoryMb = positiveInt(
    'decode memory (MB)',
    pick(flags.decodeMemoryMb, 'GAZO_DECODE_MEMORY_MB'),
    DEFAULTS.decodeMemoryMb,
  );
  if (decodeMemoryMb < 1) throw new ConfigError('decode memory (MB) must be at least 1');
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

  let blobs: BlobsConfig;
  try {
    blobs = parseBlobsUrl(pick(flags.blobs, 'GAZO_BLOBS') as string | undefined, env);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }

  return {
    host,
    port,
    dataDir,
    blobs,
    database: databaseLocation(pick(flags.database, 'GAZO_DATABASE_URL')),
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
      decodeMemoryBytes: decodeMemoryMb * 1024 * 1024,
      diskReserveBytes: positiveInt(
        'disk reserve bytes',
        env.GAZO_DISK_RESERVE_BYTES,
        DEFAULTS.diskReserveBytes,
      ),
    },
    thumbSize: DEFAULTS.thumbSize,
    imageCacheBytes: positiveInt('image cache bytes', env.GAZO_IMAGE_CACHE_BYTES, DEFAULTS.imageCacheBytes),
    listCacheBytes: positiveInt('list cache bytes', env.GAZO_LIST_CACHE_BYTES, DEFAULTS.listCacheBytes),
    logLevel: String(pick(flags.logLevel, 'GAZO_LOG_LEVEL') ?? DEFAULTS.logLevel),
    network: networkConfig(flags, pick),
    rateLimits: {
      maxAuthFailuresPerMinute: positiveInt(
        'max auth failures per minute',
        pick(flags.maxAuthFailuresPerMinute, 'GAZO_MAX_AUTH_FAILURES_PER_MINUTE'),
        DEFAULTS.maxAuthFailuresPerMinute,
      ),
      maxRequestsPerTokenPerDay: positiveInt(
        'max requests per token per day',
        pick(flags.maxRequestsPerTokenPerDay, 'GAZO_MAX_REQUESTS_PER_TOKEN_PER_DAY'),
        DEFAULTS.maxRequestsPerTokenPerDay,
      ),
    },
    keepMetadata: yesNo(
      'keep metadata',
      flags.keepMetadata ?? (env.GAZO_KEEP_METADATA || undefined),
      DEFAULTS.keepMetadata,
    ),
    legacy: {
      anonymousDevices: yesNo(
        'legacy anonymous devices',
        flags.legacyAnonymousDevices ?? (env.GAZO_LEGACY_ANONYMOUS_DEVICES || undefined),
        false,
      ),
    },
    web: { registration: registration(pick(flags.registration, 'GAZO_REGISTRATION')) },
    ocr: ocrConfig(flags, env, pick),
  };
}

function ocrEngine(value: string | number | undefined): Config['ocr']['engine'] {
  const engine = String(value ?? DEFAULTS.ocrEngine).trim();
  if (engine === 'tesseract.js' || engine === 'tesseract') return engine;
  throw new ConfigError(`OCR engine must be one of tesseract.js, tesseract; got "${engine}"`);
}

function registration(value: string | number | undefined): Config['web']['registration'] {
  if (value === undefined || value === '') return 'closed';
  if (value === 'open' || value === 'closed') return value;
  throw new ConfigError(`registration must be "open" or "closed", got "${value}"`);
}

/** `--database`: a postgres:// (or postgresql://) URL; none means SQLite in the data dir. */
function databaseLocation(value: string | number | undefined): Config['database'] {
  if (value === undefined || value === '') return { kind: 'sqlite' };
  const url = String(value);
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    protocol = '';
  }
  if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
    // Not echoed: a mistyped URL may hold a password.
    throw new ConfigError(
      'database must be a postgres://user:password@host:port/name URL (leave it out for SQLite in the data dir)',
    );
  }
  return { kind: 'postgres', url };
}

function ocrModels(value: string | undefined): string {
  const models = (value ?? '').trim() || 'auto';
  if (models === 'auto' || models === 'npm' || path.isAbsolute(models)) return models;
  throw new ConfigError(`GAZO_OCR_MODELS must be auto, npm or a folder's absolute path; got "${models}"`);
}

function ocrConfig(
  flags: ConfigInput,
  env: NodeJS.ProcessEnv,
  pick: (flag: string | number | undefined, envName: string) => string | number | undefined,
): Config['ocr'] {
  // `--no-ocr` wins; without it, GAZO_OCR=off (or false, 0, no) turns OCR off.
  const enabled =
    flags.ocr === false || flags.ocr === 'false'
      ? false
      : yesNo('GAZO_OCR', typeof flags.ocr === 'string' ? flags.ocr : env.GAZO_OCR || undefined, true);
  const languages = String(pick(flags.ocrLanguages, 'GAZO_OCR_LANGUAGES') ?? DEFAULTS.ocrLanguages).trim();
  try {
    parseLanguages(languages);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  return {
    enabled,
    engine: ocrEngine(pick(flags.ocrEngine, 'GAZO_OCR_ENGINE')),
    languages,
    models: ocrModels(env.GAZO_OCR_MODELS),
    workers: atLeastOne('OCR workers', env.GAZO_OCR_WORKERS, DEFAULTS.ocrWorkers),
    timeoutMs: atLeastOne('OCR timeout', env.GAZO_OCR_TIMEOUT, DEFAULTS.ocrTimeout) * 1000,
  };
}

function networkConfig(
  flags: ConfigInput,
  pick: (flag: string | number | undefined, envName: string) => string | number | undefined,
): Config['network'] {
  const seconds = (name: string, flag: string | number | undefined, envName: string, fallback: number) =>
    atLeastOne(name, pick(flag, envName), fallback) * 1000;
  const headersTimeoutMs = seconds(
    'headers timeout',
    flags.headersTimeout,
    'GAZO_HEADERS_TIMEOUT',
    DEFAULTS.headersTimeout,
  );
  const requestTimeoutMs = seconds(
    'request timeout',
    flags.requestTimeout,
    'GAZO_REQUEST_TIMEOUT',
    DEFAULTS.requestTimeout,
  );
  // Node refuses a headers timeout longer than the whole-request timeout.
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError('headers timeout must not be longer than request timeout');
  }
  return {
    trustProxy: trustProxy(pick(flags.trustProxy, 'GAZO_TRUST_PROXY')),
    headersTimeoutMs,
    requestTimeoutMs,
    idleTimeoutMs: seconds('idle timeout', flags.idleTimeout, 'GAZO_IDLE_TIMEOUT', DEFAULTS.idleTimeout),
    maxConnections: atLeastOne(
      'max connections',
      pick(flags.maxConnections, 'GAZO_MAX_CONNECTIONS'),
      DEFAULTS.maxConnections,
    ),
  };
}
