import type { GazoImage } from '../../client/index.ts';
import { printTable } from '../options.ts';

/** `--json` output: one document, as the API gave it. */
export function printJson(value: unknown) {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

const clip = (text: string | null | undefined, max: number) => {
  if (!text) return null;
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

export function printImageTable(images: GazoImage[]) {
  printTable(
    ['IMAGE_ID', 'CREATED', 'TYPE', 'ACCESS', 'TITLE', 'PERMALINK'],
    images.map((i) => [
      i.image_id,
      i.created_at,
      i.type,
      i.access_policy ?? null,
      clip(i.metadata?.title, 40),
      i.permalink_url,
    ]),
  );
}

/** One image as `field  value` lines. */
export function printImageDetails(image: GazoImage) {
  printTable(
    ['FIELD', 'VALUE'],
    [
      ['image_id', image.image_id],
      ['permalink_url', image.permalink_url],
      ['url', image.url],
      ['thumb_url', image.thumb_url],
      ['type', image.type],
      ['created_at', image.created_at],
      ['access_policy', image.access_policy ?? null],
      ['title', clip(image.metadata?.title, 200)],
      ['desc', clip(image.metadata?.desc, 200)],
      ['app', image.metadata?.app ?? null],
      ['referer_url', image.metadata?.url ?? null],
      ['ocr', clip(image.ocr?.description, 200)],
    ],
  );
}
