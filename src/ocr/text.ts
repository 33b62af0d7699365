import type { Language, Script } from './languages.ts';

// Japanese text has no spaces between words; tesseract puts one between most characters.
const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\u3000-\\u303f\\uff00-\\uffefー';
const SPACE_IN_CJK = new RegExp(`(?<=[${CJK}]) +(?=[${CJK}])`, 'gu');

/**
 * Tesseract's text made fit to store: no spaces inside Japanese, no trailing spaces, line breaks
 * kept, at most one blank line between paragraphs, none at either end.
 */
export function cleanText(raw: string): string {
  return raw
    .split('\n')
    .map((line) => line.replace(SPACE_IN_CJK, '').replace(/\s+$/u, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .replace(/^\n+|\n+$/g, '');
}

const SCRIPT_PATTERNS: Record<Script, RegExp> = {
  japanese: /[\p{Script=Hiragana}\p{Script=Katakana}]/gu,
  han: /\p{Script=Han}/gu,
  hangul: /\p{Script=Hangul}/gu,
  cyrillic: /\p{Script=Cyrillic}/gu,
  latin: /\p{Script=Latin}/gu,
};

const count = (text: string, pattern: RegExp) => text.match(pattern)?.length ?? 0;

/**
 * The main language of recognised text, as a locale code, from the scripts it is written in:
 * each CJK character counts like a word, Latin, Cyrillic and Hangul letters a third of one.
 * Kanji count for Japanese when Japanese is configured and kana are present (or Chinese is not
 * configured). Null when the text has no letters at all.
 */
export function detectLocale(text: string, languages: Language[]): string | null {
  const has = (script: Script) => languages.find((l) => l.script === script);
  const han = count(text, SCRIPT_PATTERNS.han);
  const kana = count(text, SCRIPT_PATTERNS.japanese);
  const scores: Array<[Script, number]> = [
    ['latin', count(text, SCRIPT_PATTERNS.latin) / 3],
    ['cyrillic', count(text, SCRIPT_PATTERNS.cyrillic) / 3],
    ['hangul', count(text, SCRIPT_PATTERNS.hangul) / 3],
  ];
  if (has('japanese') && (kana > 0 || !has('han'))) scores.push(['japanese', kana + han]);
  else scores.push(['han', han], ['japanese', kana]);
  let best: Language | undefined;
  let bestScore = 0;
  for (const [script, score] of scores) {
    const language = has(script);
    if (language && score > bestScore) {
      best = language;
      bestScore = score;
    }
  }
  return best?.locale ?? null;
}
