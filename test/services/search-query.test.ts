import { describe, expect, it } from 'vitest';
import { parseSearchQuery, SearchQueryError } from '../../src/services/search-query.ts';

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const DAY = 86_400_000;

describe('parseSearchQuery', () => {
  it('plain words are terms that must all match', () => {
    expect(parseSearchQuery('  invoice   march ')).toEqual({
      terms: [{ text: 'invoice' }, { text: 'march' }],
    });
    // Any script, any whitespace (an ideographic space too).
    expect(parseSearchQuery('会議\u3000議事録')).toEqual({ terms: [{ text: '会議' }, { text: '議事録' }] });
  });

  it('a quoted phrase is one term, spaces included', () => {
    expect(parseSearchQuery('"build failed" today')).toEqual({
      terms: [{ text: 'build failed' }, { text: 'today' }],
    });
    expect(parseSearchQuery('a "" b')).toEqual({ terms: [{ text: 'a' }, { text: 'b' }] });
  });

  it.each([
    ['title:report', { text: 'report', field: 'title' }],
    ['desc:notes', { text: 'notes', field: 'desc' }],
    ['app:Firefox', { text: 'Firefox', field: 'app' }],
    ['app:"Google Chrome"', { text: 'Google Chrome', field: 'app' }],
    ['url:example.com', { text: 'example.com', field: 'url' }],
    ['url:https://example.com/a?b=c', { text: 'https://example.com/a?b=c', field: 'url' }],
    ['TITLE:Report', { text: 'Report', field: 'title' }],
    ['title:"東京 タワー"', { text: '東京 タワー', field: 'title' }],
    ['alt:"red door"', { text: 'red door', field: 'alt_text' }],
    ['ALT:door', { text: 'door', field: 'alt_text' }],
  ])('%s is a field term', (query, term) => {
    expect(parseSearchQuery(query)).toEqual({ terms: [term] });
  });

  it('since, until and date are UTC days; until and date include the whole day', () => {
    expect(parseSearchQuery('since:2024-01-01')).toEqual({ terms: [], since: day('2024-01-01') });
    expect(parseSearchQuery('until:2024-12-31')).toEqual({ terms: [], before: day('2024-12-31') + DAY });
    expect(parseSearchQuery('date:2024-05-21 cat')).toEqual({
      terms: [{ text: 'cat' }],
      since: day('2024-05-21'),
      before: day('2024-05-22'),
    });
    // Several bounds narrow each other.
    expect(parseSearchQuery('since:2024-01-01 since:2024-03-01 until:2024-06-30 until:2024-12-31')).toEqual({
      terms: [],
      since: day('2024-03-01'),
      before: day('2024-07-01'),
    });
    expect(parseSearchQuery('date:2024-02-29')).toMatchObject({ since: day('2024-02-29') });
  });

  it.each([
    ['since:yesterday'],
    ['until:2024-13-01'],
    ['date:2023-02-29'],
    ['date:2024-5-21'],
    ['since:"2024-01-01'],
    ['title:'],
    ['app: Firefox'],
    ['url:'],
  ])('%s is a clear error', (query) => {
    expect(() => parseSearchQuery(query)).toThrow(SearchQueryError);
  });

  it('nothing to search for is an error', () => {
    expect(() => parseSearchQuery('')).toThrow(/nothing to search for/);
    expect(() => parseSearchQuery('   ')).toThrow(/nothing to search for/);
    expect(() => parseSearchQuery('""')).toThrow(/nothing to search for/);
  });

  it('FTS and other syntax characters are text', () => {
    const texts = (q: string) => parseSearchQuery(q).terms.map((t) => t.text);
    expect(texts('"')).toEqual(['"']);
    expect(texts('say "hi')).toEqual(['say', '"hi']);
    expect(texts('6" screen')).toEqual(['6"', 'screen']);
    expect(texts('a"b OR *')).toEqual(['a"b', 'OR', '*']);
    expect(texts('NEAR(hello world)')).toEqual(['NEAR(hello', 'world)']);
    expect(texts('-hello ^start hello*')).toEqual(['-hello', '^start', 'hello*']);
    expect(texts('foo:bar 10:30 :x x: https://a.b')).toEqual(['foo:bar', '10:30', ':x', 'x:', 'https://a.b']);
    expect(texts('{title}:x')).toEqual(['{title}:x']);
    // A qualifier's name only counts at the start of a word.
    expect(parseSearchQuery('mytitle:x').terms).toEqual([{ text: 'mytitle:x' }]);
  });
});
