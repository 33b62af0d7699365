import type { AccessPolicy, GazoImage } from '../../client/index.ts';

/** One image as the import sees it, whatever it came from (an API listing, an export). */
export interface ImportItem {
  /** Host the image lives on; with `sourceId` it names the image for resuming. */
  source: string;
  sourceId: string;
  /** Where its bytes are; null when the source lists it without (locked or expired there). */
  url: string | null;
  type?: string;
  /** Milliseconds; undefined when the source gave no readable time. */
  createdAtMs?: number;
  title?: string;
  desc?: string;
  app?: string;
  refererUrl?: string;
  accessPolicy?: AccessPolicy;
  metadataIsPublic?: boolean;
  /** The source's OCR text, when it has read any. */
  ocr?: { locale: string | null; text: string };
}

const TIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * A source's `created_at` as milliseconds since the epoch. Sources write it several ways:
 * `2014-05-21 14:23:10+0900` (the reference's listing), `2018-07-24T07:33:24.771Z`, Gazo's
 * `…+0000`; the offset is applied, so the instant stays the same. No zone means UTC.
 */
export function parseSourceTime(value: unknown): number | undefined {
  if (typeof value === 'number')
    return Number.isFinite(value) ? Math.round(value > 1e11 ? value : value * 1000) : undefined;
  if (typeof value !== 'string') return undefined;
  const m = TIME.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  if (Number.isNaN(local)) return undefined;
  if (zone.toUpperCase() === 'Z') return local;
  const digits = zone.replace(':', '');
  const sign = digits.startsWith('-') ? -1 : 1;
  const offsetMin = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5) || '0');
  return local - sign * offsetMin * 60_000;
}

const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);

function hostOf(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).host || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The import's view of an image object. The source is the host of its permalink (so an API
 * import and an export of the same server name images alike), else `fallbackSource`.
 * Sources differ in what they send (gyazo.com lists no access_policy): absent stays absent.
 */
export function toImportItem(
  image: Partial<GazoImage> & { metadata_is_public?: unknown; created_at_ms?: unknown },
  fallbackSource: string,
): ImportItem {
  const meta = (image.metadata ?? {}) as Partial<GazoImage['metadata']>;
  const policy = image.access_policy;
  const ocr = image.ocr as Partial<GazoImage['ocr']> | undefined;
  return {
    source: hostOf(image.permalink_url) ?? fallbackSource,
    sourceId: String(image.image_id),
    url: text(image.url) ?? null,
    type: text(image.type),
    createdAtMs:
      typeof image.created_at_ms === 'number' && Number.isSafeInteger(image.created_at_ms)
        ? image.created_at_ms
        : parseSourceTime(image.created_at),
    title: text(meta.title),
    desc: text(meta.desc),
    app: text(meta.app),
    refererUrl: text(meta.url),
    accessPolicy: policy === 'anyone' || policy === 'only_me' ? policy : undefined,
    metadataIsPublic: typeof image.metadata_is_public === 'boolean' ? image.metadata_is_public : undefined,
    ocr: text(ocr?.description)
      ? { locale: text(ocr?.locale) ?? null, text: ocr?.description as string }
      : undefined,
  };
}
