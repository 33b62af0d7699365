import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonOf, uploadOk, type WireImage } from '../helpers/api.ts';
import { undecodablePng } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { block, CJK, MONO, renderPng, requireFonts } from '../helpers/text-images.ts';

/**
 * The whole path a user depends on: text in an uploaded screenshot is read in the background,
 * shows in the image object with its line breaks and language, and is found by search. Once with
 * each engine: the built-in tesseract.js and the tesseract command (`.ci/run` installs it).
 */
describe.each(['tesseract.js', 'tesseract'])('OCR of uploaded screenshots (engine %s)', (engine) => {
  let server: TestServer;
  let token: string;
  const uploaded: Record<string, WireImage> = {};

  const api = async <T>(path: string) => {
    const res = await fetch(`${server.url}${path}${path.includes('?') ? '&' : '?'}access_token=${token}`);
    expect(res.status, path).toBe(200);
    return jsonOf<T>(res);
  };
  const image = (name: string) => api<WireImage>(`/api/images/${uploaded[name]?.image_id}`);
  const search = async (query: string) =>
    (await api<WireImage[]>(`/api/search?query=${encodeURIComponent(query)}`)).map(
      (found) => Object.entries(uploaded).find(([, u]) => u.image_id === found.image_id)?.[0],
    );

  beforeAll(async () => {
    requireFonts();
    server = await startServer({ ocr: true, ocrEngine: engine });
    ({ token } = await server.user());
    const shots = {
      // A settings page: light theme, dark text.
      english: await renderPng({
        width: 900,
        height: 260,
        background: '#ffffff',
        lines: block(['Account Settings', 'Display name: Ada Lovelace', 'Email notifications are enabled'], {
          x: 30,
          y: 50,
          size: 20,
        }),
      }),
      // A chat in a dark theme: light text on near black.
      japanese: await renderPng({
        width: 900,
        height: 220,
        background: '#1e1f22',
        lines: block(['明日の会議は十時からです', '了解しました。資料を準備します'], {
          x: 30,
          y: 60,
          size: 22,
          font: CJK,
          color: '#e6e6e6',
        }),
      }),
      // Code in a dark editor.
      code: await renderPng({
        width: 900,
        height: 200,
        background: '#282c34',
        lines: block(['function parseInvoice(total) {', '  return total * 1.08;', '}'], {
          x: 30,
          y: 50,
          size: 18,
          font: MONO,
          color: '#abb2bf',
        }),
      }),
      broken: await undecodablePng(),
    };
    for (const [name, bytes] of Object.entries(shots)) uploaded[name] = await uploadOk(server, token, bytes);
    await server.settle();
  });
  afterAll(() => server?.close());

  it('answers the upload before reading: the image is unread, with no locale', () => {
    expect(uploaded.english?.ocr).toEqual({ locale: null, description: '' });
  });

  it('reads English on a light theme, line breaks kept', async () => {
    const { ocr } = await image('english');
    expect(ocr.locale).toBe('en');
    expect(ocr.description).toMatch(
      /Account Settings\n+Display name: Ada Lovelace\n+Email notifications are enabled/,
    );
  });

  it('reads Japanese on a dark theme, with no spaces between the characters', async () => {
    const { ocr } = await image('japanese');
    expect(ocr.locale).toBe('ja');
    expect(ocr.description).toContain('明日の会議は十時からです');
    expect(ocr.description).toContain('資料を準備します');
  });

  it('reads code on a dark theme', async () => {
    const { ocr } = await image('code');
    expect(ocr.locale).toBe('en');
    expect(ocr.description).toContain('function parseInvoice(total) {');
  });

  it('finds images by the text in them, in English and Japanese, short Japanese words too', async () => {
    expect(await search('Lovelace')).toEqual(['english']);
    expect(await search('notifications enabled')).toEqual(['english']);
    expect(await search('会議は十時')).toEqual(['japanese']);
    expect(await search('資料')).toEqual(['japanese']);
    expect(await search('parseInvoice')).toEqual(['code']);
  });

  it('shows the text in the list at once (the owner’s list cache is invalidated)', async () => {
    const list = await api<WireImage[]>('/api/images');
    const english = list.find((i) => i.image_id === uploaded.english?.image_id);
    expect(english?.ocr.description).toContain('Ada Lovelace');
  });

  it('ends an undecodable image as a recorded failure, not a retry loop', async () => {
    expect((await image('broken')).ocr).toEqual({ locale: null, description: '' });
    const row = await server.rt.store.images.findByImageId(uploaded.broken?.image_id ?? '');
    expect(row?.decode_error).toBeTruthy();
    expect(await server.rt.store.jobs.countPending()).toBe(0);
    expect(await server.rt.worker.drain()).toBe(0);
  });
});
