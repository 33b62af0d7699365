import { FormDataEncoder } from 'form-data-encoder';
import { GazoApiError, parseRetryAfter } from './errors.ts';
import type { GazoImage, GazoOembed, GazoUserMe, ImageList, PageOptions, UploadOptions } from './types.ts';

export interface GazoClientOptions {
  /** Origin of `/api/*`: a Gazo server's URL, or `https://api.gyazo.com`. */
  apiUrl: string;
  /** Origin of `/api/upload`. Defaults to `apiUrl`, or `https://upload.gyazo.com` for gyazo.com. */
  uploadUrl?: string;
  accessToken?: string;
  /** How often a request is tried again after a 429 (and a read after a dropped connection). Default 5. */
  retries?: number;
  /** The longest `Retry-After` worth waiting for; a longer one fails at once. Default 60 s. */
  maxRetryAfterMs?: number;
  /** Each attempt is abandoned after this long. Default 120 s. */
  timeoutMs?: number;
  /**
   * Origins that may receive the token when downloading image files (an `only_me` image needs
   * it). Default: the API and upload origins. Never every origin: a listing could name any URL.
   */
  tokenOrigins?: string[];
  /** Told before each wait, e.g. to show it to the user. */
  onRetry?: (retry: { reason: string; waitMs: number; attempt: number }) => void;
  fetch?: typeof fetch;
}

const GYAZO_API = 'https://api.gyazo.com';
const GYAZO_UPLOAD = 'https://upload.gyazo.com';

/** Without a Retry-After, 429s and dropped connections wait 0.5 s, 1 s, 2 s … up to this. */
const MAX_BACKOFF_MS = 8000;

const trimSlash = (url: string) => url.replace(/\/+$/, '');

export function defaultUploadUrl(apiUrl: string): string {
  return trimSlash(apiUrl) === GYAZO_API ? GYAZO_UPLOAD : trimSlash(apiUrl);
}

const headerNumber = (res: Response, name: string) => {
  const raw = res.headers.get(name);
  return raw === null || raw.trim() === '' || Number.isNaN(Number(raw)) ? undefined : Number(raw);
};

interface RequestOptions {
  /** Made anew for each attempt: a streamed body can be sent only once. */
  body?: () => { body: FormData | AsyncIterable<Uint8Array>; headers?: Record<string, string> };
  /** Safe to send again after a dropped connection (reads). */
  idempotent: boolean;
  withToken?: boolean;
}

/** A client for every endpoint of the Gyazo API, as Gazo and gyazo.com serve it. */
export class GazoClient {
  readonly apiUrl: string;
  readonly uploadUrl: string;
  private readonly token: string | undefined;
  private readonly retries: number;
  private readonly maxRetryAfterMs: number;
  private readonly timeoutMs: number;
  private readonly tokenOrigins: Set<string>;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: GazoClientOptions) {
    this.apiUrl = trimSlash(options.apiUrl);
    this.uploadUrl = trimSlash(options.uploadUrl ?? defaultUploadUrl(options.apiUrl));
    this.token = options.accessToken;
    this.retries = options.retries ?? 5;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.tokenOrigins = new Set(
      (options.tokenOrigins ?? [this.apiUrl, this.uploadUrl]).map((u) => new URL(u).origin),
    );
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** `POST /api/upload` (on the upload origin). Answers the image object. */
  async upload(image: Blob | Uint8Array, options: UploadOptions = {}): Promise<GazoImage> {
    const form = new FormData();
    if (this.token) form.append('access_token', this.token);
    const fields: Record<string, string | undefined> = {
      title: options.title,
      desc: options.desc,
      referer_url: options.refererUrl,
      app: options.app,
      created_at: createdAtField(options.createdAt),
      access_policy: options.accessPolicy,
      metadata_is_public:
        options.metadataIsPublic === undefined ? undefined : String(options.metadataIsPublic),
      collection_id: options.collectionId,
    };
    for (const [name, value] of Object.entries(fields)) if (value !== undefined) form.append(name, value);
    const blob = image instanceof Blob ? image : new Blob([image as Uint8Array<ArrayBuffer>]);
    form.append('imagedata', blob, options.filename ?? 'gyazo.com');
    const onProgress = options.onProgress;
    const body = onProgress ? () => countedBody(form, onProgress) : () => ({ body: form });
    const res = await this.send('POST', `${this.uploadUrl}/api/upload`, { body, idempotent: false });
    return (await res.json()) as GazoImage;
  }

  /** `GET /api/images`: one page, newest first. */
  async list(options: PageOptions = {}): Promise<ImageList> {
    const res = await this.send('GET', this.api('/api/images', pageQuery(options, 'per_page')), {
      idempotent: true,
    });
    return imageList(res);
  }

  /** Every image, page by page (`per_page` 100 unless told otherwise). */
  async *listAll(options: { perPage?: number; startPage?: number } = {}): AsyncGenerator<GazoImage> {
    const perPage = options.perPage ?? 100;
    for (let page = options.startPage ?? 1; ; page++) {
      const { images, totalCount } = await this.list({ page, perPage });
      yield* images;
      if (images.length < perPage) return;
      if (totalCount !== undefined && page * perPage >= totalCount) return;
    }
  }

  /** `GET /api/images/:image_id`. */
  async get(imageId: string): Promise<GazoImage> {
    const res = await this.send('GET', this.api(`/api/images/${encodeURIComponent(imageId)}`), {
      idempotent: true,
    });
    return (await res.json()) as GazoImage;
  }

  /** `DELETE /api/images/:image_id`. Answers what was deleted. */
  async delete(imageId: string): Promise<GazoImage> {
    const res = await this.send('DELETE', this.api(`/api/images/${encodeURIComponent(imageId)}`), {
      idempotent: false,
    });
    return (await res.json()) as GazoImage;
  }

  /** `GET /api/search`. */
  async search(query: string, options: PageOptions = {}): Promise<ImageList> {
    const params = pageQuery(options, 'per');
    params.set('query', query);
    const res = await this.send('GET', this.api('/api/search', params), { idempotent: true });
    return imageList(res);
  }

  /** `GET /api/users/me`. */
  async me(): Promise<GazoUserMe> {
    const res = await this.send('GET', this.api('/api/users/me'), { idempotent: true });
    return (await res.json()) as GazoUserMe;
  }

  /** `GET /api/oembed`; needs no token. */
  async oembed(permalinkUrl: string): Promise<GazoOembed> {
    const res = await this.send('GET', this.api('/api/oembed', new URLSearchParams({ url: permalinkUrl })), {
      idempotent: true,
      withToken: false,
    });
    return (await res.json()) as GazoOembed;
  }

  /**
   * The bytes of an image file (an image object's `url`, or any URL). The token goes along only
   * to the client's own origins (`tokenOrigins`).
   */
  async download(url: string): Promise<Uint8Array> {
    const withToken = this.tokenOrigins.has(new URL(url).origin);
    const res = await this.send('GET', url, { idempotent: true, withToken });
    return new Uint8Array(await res.arrayBuffer());
  }

  private api(path: string, query?: URLSearchParams): string {
    const qs = query?.toString();
    return `${this.apiUrl}${path}${qs ? `?${qs}` : ''}`;
  }

  /**
   * One request with its retries: a 429 waits `Retry-After` (bounded); a dropped connection is
   * retried for reads only, since a write may have happened. Anything else not 2xx throws.
   */
  private async send(method: string, url: string, options: RequestOptions): Promise<Response> {
    const base: Record<string, string> = { Accept: 'application/json' };
    if (this.token && options.withToken !== false) base.Authorization = `Bearer ${this.token}`;
    const where = url.split('?')[0] ?? url;
    for (let attempt = 1; ; attempt++) {
      const backoff = Math.min(MAX_BACKOFF_MS, 500 * 2 ** (attempt - 1));
      let res: Response;
      const made = options.body?.();
      try {
        res = await this.fetchImpl(url, {
          method,
          headers: { ...base, ...made?.headers },
          body: made?.body as BodyInit | undefined,
          // Node's fetch sends an async iterable only with duplex 'half'.
          ...(made && !(made.body instanceof FormData) ? { duplex: 'half' } : {}),
          signal: AbortSignal.timeout(this.timeoutMs),
        } as RequestInit);
      } catch (err) {
        const reason = describeFetchError(err);
        if (options.idempotent && attempt <= this.retries) {
          this.options.onRetry?.({ reason, waitMs: backoff, attempt });
          await sleep(backoff);
          continue;
        }
        throw new GazoApiError(0, `${method} ${where}: ${reason}`, method, where);
      }
      if (res.ok) return res;
      const message = await errorMessage(res);
      if (res.status === 429) {
        const asked = parseRetryAfter(res.headers.get('retry-after'));
        const waitMs = asked ?? backoff;
        if (attempt <= this.retries && waitMs <= this.maxRetryAfterMs) {
          this.options.onRetry?.({ reason: `429 ${message}`, waitMs, attempt });
          await sleep(waitMs);
          continue;
        }
        throw new GazoApiError(429, message, method, where, asked);
      }
      throw new GazoApiError(res.status, message, method, where);
    }
  }
}

/**
 * The multipart body as a byte stream of known length (Content-Length, as for FormData), told
 * to `onProgress` as it is read: how a progress bar can follow one large upload.
 */
function countedBody(form: FormData, onProgress: (sent: number, total: number) => void) {
  const encoder = new FormDataEncoder(form);
  const total = Number(encoder.contentLength);
  async function* counted() {
    let sent = 0;
    onProgress(0, total);
    for await (const chunk of encoder.encode()) {
      sent += chunk.byteLength;
      yield chunk;
      onProgress(sent, total);
    }
  }
  return { body: counted(), headers: { ...encoder.headers } };
}

function createdAtField(value: Date | number | undefined): string | undefined {
  if (value === undefined) return undefined;
  const seconds = value instanceof Date ? value.getTime() / 1000 : value;
  if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`createdAt is not a time: ${value}`);
  // Decimal notation, never an exponent: servers read "1.4e9" as garbage.
  return Number.isInteger(seconds) ? String(seconds) : seconds.toFixed(3);
}

function pageQuery(options: PageOptions, perName: 'per' | 'per_page'): URLSearchParams {
  const params = new URLSearchParams();
  if (options.page !== undefined) params.set('page', String(options.page));
  if (options.perPage !== undefined) params.set(perName, String(options.perPage));
  return params;
}

async function imageList(res: Response): Promise<ImageList> {
  return {
    images: (await res.json()) as GazoImage[],
    totalCount: headerNumber(res, 'x-total-count'),
    currentPage: headerNumber(res, 'x-current-page'),
    perPage: headerNumber(res, 'x-per-page'),
    userType: res.headers.get('x-user-type') ?? undefined,
  };
}

/** The server's `message`, or the start of whatever else it sent. */
async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: unknown };
    if (typeof body.message === 'string') return body.message;
    if (typeof body.error === 'string') return body.error;
  } catch {
    // not JSON: fall through
  }
  return text.trim().slice(0, 200) || res.statusText || `HTTP ${res.status}`;
}

function describeFetchError(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
