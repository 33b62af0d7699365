import { describe, expect, it } from 'vitest';
import { ImageUrls } from '../../src/services/wire.ts';
import { wireImagesJson } from '../../src/services/wire-json.ts';
import type { ListedImageRow } from '../../src/store/schema.ts';

/** A small fixed generator, so that a failing row is the same on every run. */
function generator(seed: number) {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  return { next, pick };
}

// Text that JSON escapes or that is easy to get wrong: quotes, backslashes, every control
// character, lone and paired surrogates, the line separators JSON.stringify leaves alone, CJK.
const TRICKY = [
  '',
  'plain',
  'say "hi"',
  'back\\slash',
  'line\nbreak\ttab\r\b\f',
  String.fromCharCode(...Array.from({ length: 32 }, (_, i) => i)),
  '\u007f\u0080\u00ff',
  '\ud83d\ude00 emoji',
  'lone \ud800 high',
  'lone \udfff low',
  '\udc00\ud800 reversed',
  '\u2028\u2029',
  'スクリーンショット 画像',
  '</script><script>',
  'https://example.com/a?b=c&d="e"#f',
  // Each control character alone, since one that needs escaping hides the others.
  ...Array.from({ length: 32 }, (_, i) => `a${String.fromCharCode(i)}b`),
];

function row(g: ReturnType<typeof generator>): ListedImageRow {
  const text = () => (g.next() < 0.7 ? g.pick(TRICKY) : `${g.pick(TRICKY)}${g.pick(TRICKY)}`);
  const orNull = () => (g.next() < 0.3 ? null : text());
  const coordinate = () =>
    g.pick([null, 0, -0, 35.681236, -139.767125, 0.1 + 0.2, 1e-7, 123456789.123, Number.NaN]);
  return {
    image_id:
      g.next() < 0.9
        ? Math.floor(g.next() * 2 ** 52)
            .toString(16)
            .padStart(32, '0')
        : text(),
    type: g.pick(['png', 'jpg', 'gif', 'webp', 'a"b']),
    // PostgreSQL hands bigints over as strings.
    created_at: g.pick([0, 1_700_000_000_123, Date.UTC(9999, 11, 31), '1700000000456' as unknown as number]),
    app: orNull(),
    title: orNull(),
    url: orNull(),
    desc: text(),
    alt_text: text(),
    access_policy: g.pick(['anyone', 'only_me', 'something else']),
    seq: Math.floor(g.next() * 1e6),
    revision: Math.floor(g.next() * 3),
    ocr_locale: g.pick([null, 'en', 'ja', '"x"']),
    ocr_text: g.pick(['', 'read text', ...TRICKY]),
    latitude: coordinate(),
    longitude: coordinate(),
  };
}

describe('wireImagesJson', () => {
  it('writes exactly what JSON.stringify makes of toWire, for any row', () => {
    const g = generator(20_261_201);
    for (const base of ['http://127.0.0.1:3000', 'https://img.example.com/gazo', 'http://h/"quoted"\\']) {
      const urls = new ImageUrls({ base, web: base, image: `${base}/i`, api: base, upload: base }, 300);
      for (let n = 0; n < 400; n++) {
        const rows = Array.from({ length: 1 + Math.floor(g.next() * 5) }, () => row(g));
        expect(wireImagesJson(urls, rows)).toBe(JSON.stringify(rows.map((r) => urls.toWire(r))));
      }
    }
  });

  it('writes an empty page as an empty array', () => {
    expect(
      wireImagesJson(new ImageUrls({ base: 'b', web: 'w', image: 'i', api: 'a', upload: 'u' }, 300), []),
    ).toBe('[]');
  });
});
