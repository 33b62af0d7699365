import { describe, expect, it } from 'vitest';
import { parseLanguages } from '../../src/ocr/languages.ts';
import { cleanText, detectLocale } from '../../src/ocr/text.ts';

describe('OCR text', () => {
  it('drops the spaces tesseract puts between Japanese characters, keeps line breaks and English spaces', () => {
    expect(cleanText('今日 は 会 議 が あり ます 。\nファ イル を 保存\n\n\n\nSave  file  \n')).toBe(
      '今日は会議があります。\nファイルを保存\n\nSave  file',
    );
  });

  it('names the main language by script: kana make Japanese, Latin letters English', () => {
    const langs = parseLanguages('eng+jpn');
    expect(detectLocale('Settings Profile Sign out', langs)).toBe('en');
    expect(detectLocale('明日の会議は十時からです', langs)).toBe('ja');
    // A Japanese chat with a few English words is Japanese; an English page with one kanji is English.
    expect(detectLocale('田中: PRのレビューお願いします', langs)).toBe('ja');
    expect(detectLocale('Downloads folder settings 日', langs)).toBe('en');
    expect(detectLocale('12:45 100%', langs)).toBeNull();
    // Without Japanese configured there is no Japanese to report.
    expect(detectLocale('明日の会議', parseLanguages('eng'))).toBeNull();
  });
});
