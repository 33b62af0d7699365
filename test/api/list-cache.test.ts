import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageRow } from '../../src/store/schema.ts';
import { jsonOf, settleJobs, uploadOk } from '../helpers/api.ts';
import { solidPng } from '../helpers/images.ts';
import { imageRow } from '../helpers/rows.ts';
import { openDataDirStore, startServer, type TestServer } from '../helpers/server.ts';

/** List pages are served from a cache keyed by the user's images_version: it must never go stale. */
describe('GET /api/images after changes (page cache)', () => {
  let server: TestServer;
  let user: { token: string; id: number };
  beforeAll(async () => {
    server = await startServer();
    user = await server.user();
  });
  afterAll(() => server.close());

  const list = async () => {
    const res = await fetch(`${server.url}/api/images?per_page=5`, {
      headers: { authorization: `Bearer ${user.token}` },
    });
    const ids = (await jsonOf<Array<{ image_id: string }>>(res)).map((i) => i.image_id);
    return { ids, total: Number(res.headers.get('x-total-count')) };
  };

  it('answers a kept page with the same bytes and headers as the page it built, any script included', async () => {
    const other = await server.user();
    await uploadOk(server, other.token, await solidPng(10, 10, '#303030'), {
      title: '議事録 — “quoted” \\ naïve 🎉',
      desc: 'línea\nnueva',
    });
    const ask = async () => {
      const res = await fetch(`${server.url}/api/images?per_page=3`, {
        headers: { authorization: `Bearer ${other.token}` },
      });
      expect(res.status).toBe(200);
      const headers = Object.fromEntries(
        ['content-type', 'content-length', 'x-total-count', 'x-per-page'].map((h) => [h, res.headers.get(h)]),
      );
      return { headers, bytes: Buffer.from(await res.arrayBuffer()) };
    };
    // Built, then built and kept (asked twice), then answered from the cache.
    const [built, kept, cached] = [await ask(), await ask(), await ask()];
    expect(built.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Number(built.headers['content-length'])).toBe(built.bytes.length);
    expect(JSON.parse(built.bytes.toString('utf8'))[0].metadata.title).toBe('議事録 — “quoted” \\ naïve 🎉');
    for (const again of [kept, cached]) {
      expect(again.headers).toEqual(built.headers);
      expect(again.bytes.equals(built.bytes)).toBe(true);
    }
  });

  it('shows an upload and a delete at once, on a page it has already answered', async () => {
    const first = await uploadOk(server, user.token, await solidPng(10, 10, '#101010'));
    expect(await list()).toEqual({ ids: [first.image_id], total: 1 });
    expect(await list()).toEqual({ ids: [first.image_id], total: 1 });

    const second = await uploadOk(server, user.token, await solidPng(10, 10, '#202020'));
    expect(await list()).toEqual({ ids: [second.image_id, first.image_id], total: 2 });

    await fetch(`${server.url}/api/images/${second.image_id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${user.token}` },
    });
    expect(await list()).toEqual({ ids: [first.image_id], total: 1 });
  });

  it('shows an edit and OCR text another process committed, on a page whose images it listed before', async () => {
    await settleJobs(server);
    const owner = await server.user();
    const other = await openDataDirStore(server.dataDir);
    try {
      const rows = [];
      for (let i = 0; i < 4; i++) {
        const key = randomBytes(32).toString('hex');
        const pendingId = await other.blobLedger.addPending(key, Date.now());
        const row = imageRow(owner.id, Date.UTC(2026, 0, 1 + i), { blob_key: key, title: `image ${i}` });
        rows.push(await other.images.insert(row, pendingId));
      }
      const [oldest, older] = rows as [ImageRow, ImageRow];
      // Page 2, not the first page: a page not kept, made of images' JSON that is.
      const page2 = async () => {
        const res = await fetch(`${server.url}/api/images?page=2&per_page=2`, {
          headers: { authorization: `Bearer ${owner.token}` },
        });
        return (await jsonOf<Array<{ metadata: { title: string }; ocr: { description: string } }>>(res)).map(
          (image) => `${image.metadata.title}: ${image.ocr.description}`,
        );
      };
      await expect.poll(page2, { timeout: 1000, interval: 20 }).toEqual(['image 1: ', 'image 0: ']);
      expect(await page2()).toEqual(['image 1: ', 'image 0: ']);

      await other.images.update(oldest.image_id, owner.id, { title: 'renamed elsewhere' });
      await expect.poll(page2, { timeout: 1000, interval: 20 }).toEqual(['image 1: ', 'renamed elsewhere: ']);
      await other.images.recordOcr(older.image_id, 'eng', 'read elsewhere');
      await expect
        .poll(page2, { timeout: 1000, interval: 20 })
        .toEqual(['image 1: read elsewhere', 'renamed elsewhere: ']);
    } finally {
      await other.close();
    }
  });

  it('shows an image another process committed to the same database', async () => {
    // better-sqlite3 waits for a lock synchronously, which in one process would stall the
    // server's own pending blob collection: let it finish first (a real second process would not care).
    await settleJobs(server);
    const before = await list();
    // A second connection to the data dir stands in for another Gazo process.
    const other = await openDataDirStore(server.dataDir);
    try {
      const key = randomBytes(32).toString('hex');
      const pendingId = await other.blobLedger.addPending(key, Date.now());
      const row = await other.images.insert(
        imageRow(user.id, Date.now() + 60_000, { blob_key: key }),
        pendingId,
      );
      // Another process's commit shows within a second (the server notices such commits at
      // most a tenth of a second late).
      await expect
        .poll(list, { timeout: 1000, interval: 20 })
        .toEqual({ ids: [row.image_id, ...before.ids], total: before.total + 1 });
    } finally {
      await other.close();
    }
  });
});
