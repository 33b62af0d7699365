import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, jsonOf, uploadOk, type WireImage } from '../helpers/api.ts';
import { solidPng } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/** Unix seconds of a UTC instant. */
const at = (iso: string) => String(Date.parse(iso) / 1000);

/**
 * Gyazo's query language over a real server: qualifiers, phrases, dates, OCR text (written
 * into the row as the OCR job does, from another connection), and users kept apart.
 */
describe('GET /api/search: the query language', () => {
  let server: TestServer;
  let token: string;
  let otherToken: string;
  const img: Record<string, WireImage> = {};
  const name = (id: string) => Object.entries(img).find(([, v]) => v.image_id === id)?.[0] ?? id;

  const search = (query: string, t = token) =>
    fetch(`${server.url}/api/search?access_token=${t}&per=100&query=${encodeURIComponent(query)}`);
  const found = async (query: string, t = token) => {
    const res = await search(query, t);
    expect(res.status, query).toBe(200);
    return (await jsonOf<WireImage[]>(res)).map((i) => name(i.image_id));
  };
  /** What the OCR job does: write the text into the image's row. */
  const setOcrText = (imageId: string, text: string) =>
    server.rt.store.images.recordOcr(imageId, 'en', text, { replace: true });

  beforeAll(async () => {
    server = await startServer();
    ({ token } = await server.user());
    ({ token: otherToken } = await server.user());
    let n = 0;
    const add = async (key: string, fields: Record<string, string>, t = token) => {
      n++;
      const image = await uploadOk(
        server,
        t,
        await solidPng(4, 4, `#00${n.toString(16).padStart(2, '0')}00`),
        fields,
      );
      img[key] = image;
      return image;
    };
    await add('report', {
      title: 'Quarterly report',
      desc: 'numbers for the board',
      created_at: at('2024-01-01T00:00:00Z'),
    });
    await add('chrome', {
      app: 'Google Chrome',
      referer_url: 'https://example.com/pricing',
      created_at: at('2024-05-21T12:00:00Z'),
    });
    await add('chromium', {
      app: 'Chromium',
      title: 'Google search',
      created_at: at('2024-05-21T23:59:59Z'),
    });
    await add('code', { desc: 'report of the build', created_at: at('2024-05-22T00:00:00Z') });
    await add('screen', { created_at: at('2024-12-31T23:59:59Z') });
    await add('chat', { created_at: at('2025-01-01T00:00:00Z') });
    await add('theirs', { title: 'Quarterly report', created_at: at('2024-06-01T00:00:00Z') }, otherToken);
    await setOcrText(img.screen?.image_id as string, 'Build failed\nerror: cannot find module "left-pad"');
    await setOcrText(img.chat?.image_id as string, '田中: 明日の会議は10時からです\n佐藤: 了解しました');
    await setOcrText(img.theirs?.image_id as string, 'Build failed 明日の会議');
  });
  afterAll(() => server.close());

  it('finds OCR text, kept in step when the text changes', async () => {
    expect(await found('failed')).toEqual(['screen']);
    expect(await found('left-pad')).toEqual(['screen']);
    await setOcrText(img.screen?.image_id as string, 'Build passed');
    expect(await found('failed')).toEqual([]);
    expect(await found('passed')).toEqual(['screen']);
    await setOcrText(img.screen?.image_id as string, 'Build failed\nerror: cannot find module "left-pad"');
    expect(await found('failed')).toEqual(['screen']);
  });

  it('finds Japanese text by 1, 2 and 3+ characters', async () => {
    expect(await found('会')).toEqual(['chat']);
    expect(await found('会議')).toEqual(['chat']);
    expect(await found('明日の会議')).toEqual(['chat']);
    expect(await found('了解しました')).toEqual(['chat']);
    expect(await found('議事')).toEqual([]);
    expect(await found('会議 了解')).toEqual(['chat']);
  });

  it('every word must match, a phrase must match as written', async () => {
    expect(await found('build failed')).toEqual(['screen']);
    expect(await found('"build failed"')).toEqual(['screen']);
    expect(await found('"failed build"')).toEqual([]);
    expect(await found('report build')).toEqual(['code']);
    expect(await found('"report of"')).toEqual(['code']);
    expect(await found('"module "left-pad""')).toEqual([]);
  });

  it('title:, desc:, app: and url: look in that field only', async () => {
    expect(await found('report')).toEqual(['code', 'report']);
    expect(await found('title:report')).toEqual(['report']);
    expect(await found('desc:report')).toEqual(['code']);
    expect(await found('desc:board')).toEqual(['report']);
    expect(await found('title:board')).toEqual([]);
    expect(await found('app:"Google Chrome"')).toEqual(['chrome']);
    expect(await found('app:chrom')).toEqual(['chromium', 'chrome']);
    expect(await found('google')).toEqual(['chromium', 'chrome']);
    expect(await found('app:google')).toEqual(['chrome']);
    expect(await found('url:example.com')).toEqual(['chrome']);
    expect(await found('url:pricing app:chrome')).toEqual(['chrome']);
    expect(await found('title:report app:chrome')).toEqual([]);
    // Short values work in a field too.
    expect(await found('app:Go')).toEqual(['chrome']);
  });

  it('since:, until: and date: bound the upload day (UTC), both ends included', async () => {
    expect(await found('date:2024-05-21')).toEqual(['chromium', 'chrome']);
    expect(await found('since:2024-05-22')).toEqual(['chat', 'screen', 'code']);
    expect(await found('until:2024-05-21')).toEqual(['chromium', 'chrome', 'report']);
    expect(await found('since:2024-05-21 until:2024-12-31')).toEqual([
      'screen',
      'code',
      'chromium',
      'chrome',
    ]);
    expect(await found('until:2023-12-31')).toEqual([]);
    expect(await found('report since:2024-02-01')).toEqual(['code']);
    expect(await found('since:2025-01-01 until:2024-01-01')).toEqual([]);
  });

  it('answers a clear 400 to a malformed qualifier', async () => {
    for (const q of ['since:yesterday', 'date:2024-02-30', 'until:2024/12/31', 'title:', 'app: Chrome']) {
      const res = await search(q);
      await expectError(res, 400, { path: '/api/search' });
    }
    const res = await search('since:tomorrow');
    expect((await jsonOf<{ message: string }>(res)).message).toMatch(/since: wants a day as YYYY-MM-DD/);
  });

  it('FTS syntax is text, never an error', async () => {
    for (const q of [
      '"',
      '"build',
      'failed"',
      'a"b"c',
      '*',
      'fail*',
      'NEAR(build failed)',
      'build NEAR failed',
      '-failed',
      '^build',
      'build OR chat',
      'build AND failed',
      'NOT build',
      ':',
      'error:',
      'x:y:z',
      '{title}:report',
      'title:report:',
      '(((',
      'col:"a"b"',
      "'; DROP TABLE images; --",
    ]) {
      const res = await search(q);
      expect(res.status, q).toBe(200);
      expect(Array.isArray(await jsonOf(res)), q).toBe(true);
    }
    // As text they find what holds them.
    expect(await found('error:')).toEqual(['screen']);
    expect(await found('"left-pad"')).toEqual(['screen']);
    expect(await found('module "left-pad"')).toEqual(['screen']);
    expect(await found('"left')).toEqual(['screen']);
    expect(await found('明日の会議は10時')).toEqual(['chat']);
    expect(await found('10時')).toEqual(['chat']);
  });

  it('only ever finds the caller’s own images, each with its access_policy', async () => {
    const res = await search('"Quarterly report"');
    const mine = await jsonOf<WireImage[]>(res);
    expect(mine.map((i) => name(i.image_id))).toEqual(['report']);
    expect(mine[0]?.access_policy).toBe('anyone');
    expect(await found('明日の会議', otherToken)).toEqual(['theirs']);
    expect(await found('failed', otherToken)).toEqual(['theirs']);
    expect(await found('会', otherToken)).toEqual(['theirs']);
    expect(await found('app:chrome', otherToken)).toEqual([]);
    expect(await found('date:2024-05-21', otherToken)).toEqual([]);
  });

  it('counts every match in X-Total-Count, on any page', async () => {
    const page = (p: number) =>
      fetch(
        `${server.url}/api/search?access_token=${token}&per=2&page=${p}&query=${encodeURIComponent('since:2024-01-01')}`,
      );
    for (const p of [1, 3, 4]) {
      const res = await page(p);
      expect(res.headers.get('x-total-count')).toBe('6');
      expect(res.headers.get('x-total-count-exact')).toBe('true');
      await res.arrayBuffer();
    }
  });
});
