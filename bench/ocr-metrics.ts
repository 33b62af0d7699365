/** How well OCR text matches the known text of a screenshot, per language. */

export interface Tally {
  /** Words (English) or characters (Japanese) of the truth… */
  units: number;
  /** …of which the OCR text has a copy (as a multiset). */
  found: number;
  /** Edit distance of each truth line to its closest OCR line, summed… */
  edits: number;
  /** …and the characters of the truth lines. */
  chars: number;
}

export const emptyTally = (): Tally => ({ units: 0, found: 0, edits: 0, chars: 0 });

const words = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
const cjkChars = (text: string) => [...text.replace(/[\s\p{P}\p{S}]/gu, '')];

function recall(truth: string[], seen: string[], tally: Tally): void {
  const bag = new Map<string, number>();
  for (const s of seen) bag.set(s, (bag.get(s) ?? 0) + 1);
  for (const t of truth) {
    tally.units++;
    const n = bag.get(t) ?? 0;
    if (n > 0) {
      tally.found++;
      bag.set(t, n - 1);
    }
  }
}

/** Edits that turn `a` into some substring of `b`: an OCR line may hold more than one truth line. */
function distanceWithin(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, () => 0);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      row[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (x[i - 1] === y[j - 1] ? 0 : 1),
      );
    }
    prev = row;
  }
  return Math.min(...prev);
}

/** Adds one image's figures: `truth` its lines of one language, `ocr` everything read from it. */
export function score(truth: string[], ocr: string, lang: 'en' | 'ja', tally: Tally): void {
  const norm = (s: string) => (lang === 'ja' ? s.replace(/\s+/g, '') : s.replace(/\s+/g, ' ').trim());
  if (lang === 'en') recall(truth.flatMap(words), words(ocr), tally);
  else recall(truth.flatMap(cjkChars), cjkChars(ocr), tally);
  const lines = ocr.split('\n').map(norm).filter(Boolean);
  for (const line of truth.map(norm)) {
    tally.chars += [...line].length;
    // The closest OCR line: reading order may differ from drawing order (sidebar, columns).
    tally.edits += Math.min([...line].length, ...lines.map((l) => distanceWithin(line, l)));
  }
}
