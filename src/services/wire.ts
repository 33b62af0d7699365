import type { Config } from '../config.ts';
import type { ListedImageRow } from '../store/schema.ts';

/** The image object of the Gyazo API, as COMPAT.md fixes it. */
export interface WireImage {
  image_id: string;
  permalink_url: string;
  thumb_url: string;
  url: string;
  type: string;
  created_at: string;
  metadata: { app: string | null; title: string | null; url: string | null; desc: string };
  ocr: { locale: string | null; description: string };
  access_policy: 'anyone' | 'only_me';
  /** The owner's text alternative for people who cannot see the image; "" when none. */
  alt_text: string;
  /**
   * Where the photo was taken, as Gyazo names it; absent when the upload had no GPS position
   * (Gyazo's own client types it as optional, with both numbers always there).
   */
  exif_normalized?: { latitude: number; longitude: number };
}

/** `YYYY-MM-DDTHH:MM:SS+0000`, always UTC. */
export function formatCreatedAt(ms: number): string {
  // From the parts, not toISOString: a list page formats twenty, and this takes a fraction of the
  // time. The date is kept for the next call (a page's images are mostly of one day); the time of
  // day is arithmetic. Years of other than four digits (and invalid times) go the ISO way, for its
  // exact form. Date drops a fraction of a millisecond towards zero: so does this.
  const at = Math.trunc(ms);
  const day = Math.floor(at / DAY_MS);
  if (day !== lastDay) {
    const date = new Date(at);
    const year = date.getUTCFullYear();
    if (!(year >= 1000 && year <= 9999)) return `${date.toISOString().slice(0, 19)}+0000`;
    lastDay = day;
    lastDate = `${year}-${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())}T`;
  }
  const seconds = Math.floor((at - day * DAY_MS) / 1000);
  return `${lastDate}${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}+0000`;
}

const DAY_MS = 86_400_000;
let lastDay = Number.NaN;
let lastDate = '';

const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);

export class ImageUrls {
  constructor(
    private readonly urls: Config['urls'],
    readonly thumbSize: number,
  ) {}

  permalink(imageId: string): string {
    return `${this.urls.web}/${imageId}`;
  }
  raw(imageId: string, type: string): string {
    return `${this.urls.image}/${imageId}.${type}`;
  }
  thumb(imageId: string, type: string): string {
    return `${this.urls.image}/thumb/${this.thumbSize}/${imageId}.${type}`;
  }
  oembed(permalink: string): string {
    return `${this.urls.api}/api/oembed?url=${encodeURIComponent(permalink)}`;
  }

  /**
   * The image object for its owner: every API route that answers with it is owner-only. It
   * carries the location, so never use it for anything public (oEmbed, pages, files).
   */
  toWire(row: ListedImageRow): WireImage {
    const wire: WireImage = {
      image_id: row.image_id,
      permalink_url: this.permalink(row.image_id),
      thumb_url: this.thumb(row.image_id, row.type),
      url: this.raw(row.image_id, row.type),
      type: row.type,
      created_at: formatCreatedAt(Number(row.created_at)),
      metadata: { app: row.app, title: row.title, url: row.url, desc: row.desc },
      // Unread, and read with no text, look the same: no locale, empty description.
      ocr: { locale: row.ocr_text === '' ? null : row.ocr_locale, description: row.ocr_text },
      access_policy: row.access_policy === 'only_me' ? 'only_me' : 'anyone',
      alt_text: row.alt_text,
    };
    if (row.latitude !== null && row.longitude !== null) {
      wire.exif_normalized = { latitude: row.latitude, longitude: row.longitude };
    }
    return wire;
  }
}
