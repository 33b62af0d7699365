import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadOk, type WireImage } from '../helpers/api.ts';
import { solidPng } from '../helpers/images.ts';
import { capturedLog } from '../helpers/logs.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * A public original whose row and bytes are in memory is answered before Fastify
 * (src/http/web/hot-originals.ts). It must answer exactly as the route does, and only when the
 * route would answer the same to anyone.
 */

/** Counts the route's image lookups: a request answered from memory makes none. */
function countLookups(server: TestServer) {
  const images = server.rt.images;
  const lookup = images.findViewable.bind(images);
  const count = { lookups: 0 };
  images.findViewable = (...args) => {
    count.lookups++;
    return lookup(...args);
  };
  return count;
}

const headersOf = (res: Response) => {
  const all = Object.fromEntries(res.headers);
  delete all.date;
  return all;
};

let seq = 0;
const newPng = () => solidPng(40 + seq++, 30, '#203040');

describe('public originals answered from memory', () => {
  let server: TestServer;
  let owner: { token: string };
  let count: { lookups: number };

  beforeAll(async () => {
    server = await startServer();
    owner = await server.user();
    count = countLookups(server);
  });
  afterAll(() => server?.close());

  /** An uploaded public image, fetched once through the route so that its row and bytes are kept. */
  async function hotImage(
    fields: Record<string, string> = {},
  ): Promise<{ image: WireImage; first: Response; bytes: Buffer }> {
    const bytes = await newPng();
    const image = await uploadOk(server, owner.token, bytes, fields);
    await server.settle();
    const first = await fetch(image.url);
    expect(first.status).toBe(200);
    expect(Buffer.from(await first.arrayBuffer()).equals(bytes)).toBe(true);
    return { image, first, bytes };
  }

  /**
   * Fetches until a request is answered with no lookup (the second, on SQLite; on PostgreSQL the
   * row is kept once the change counter has a fresh sample, a few requests on).
   */
  async function fetchFromMemory(url: string): Promise<Response> {
    for (let i = 0; i < 50; i++) {
      const before = count.lookups;
      const res = await fetch(url);
      if (count.lookups === before) return res;
      await res.arrayBuffer();
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`${url} was never answered from memory`);
  }

  it('once hot, answers without a lookup, with the same headers and bytes as the route', async () => {
    const { image, first, bytes } = await hotImage();
    const again = await fetchFromMemory(image.url);
    expect(again.status).toBe(200);
    expect(headersOf(again)).toEqual(headersOf(first));
    expect(Buffer.from(await again.arrayBuffer()).equals(bytes)).toBe(true);
    // What keeps uploaded bytes from ever running as a page, on this path too.
    expect(again.headers.get('content-type')).toBe('image/png');
    expect(again.headers.get('x-content-type-options')).toBe('nosniff');
    expect(again.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(again.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });

  it('stops answering an image made private, or deleted, at the very next request', async () => {
    const made = await hotImage();
    const gone = await hotImage();
    await (await fetchFromMemory(made.image.url)).arrayBuffer();
    await (await fetchFromMemory(gone.image.url)).arrayBuffer();
    const patch = await fetch(`${server.url}/api/images/${made.image.image_id}`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ access_policy: 'only_me' }),
    });
    expect(patch.status).toBe(200);
    expect((await fetch(made.image.url)).status).toBe(404);
    const own = await fetch(`${made.image.url}?access_token=${owner.token}`);
    expect(own.status).toBe(200);
    expect(own.headers.get('cache-control')).toBe('private, no-cache');

    const deleted = await fetch(`${server.url}/api/images/${gone.image.image_id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${owner.token}` },
    });
    expect(deleted.status).toBe(200);
    expect((await fetch(gone.image.url)).status).toBe(404);
  });

  it('never answers a private image from memory, even to its owner', async () => {
    const bytes = await newPng();
    const image = await uploadOk(server, owner.token, bytes, { access_policy: 'only_me' });
    const mine = `${image.url}?access_token=${owner.token}`;
    for (let i = 0; i < 2; i++) expect((await fetch(mine)).status).toBe(200);
    const before = count.lookups;
    expect((await fetch(image.url)).status).toBe(404);
    expect(count.lookups).toBe(before + 1);
  });

  it('leaves to the route what it does not answer: ranges, validators, tokens, queries, HEAD', async () => {
    const { image, first, bytes } = await hotImage();
    const etag = first.headers.get('etag') as string;
    const asks: Array<[RequestInit, number]> = [
      [{ headers: { range: 'bytes=0-9' } }, 206],
      [{ headers: { 'if-none-match': etag } }, 304],
      // A token goes to the route, which counts a bad one against the client (auth-limits.ts).
      [{ headers: { authorization: 'Bearer not-a-token' } }, 200],
      [{ method: 'HEAD' }, 200],
    ];
    for (const [init, status] of asks) {
      const before = count.lookups;
      const res = await fetch(image.url, init);
      expect(res.status, JSON.stringify(init)).toBe(status);
      expect(count.lookups, JSON.stringify(init)).toBe(before + 1);
      if (status === 206)
        expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(0, 10))).toBe(true);
      else await res.arrayBuffer();
    }
    const before = count.lookups;
    expect((await fetch(`${image.url}?size=1`)).status).toBe(200);
    expect(count.lookups).toBe(before + 1);
  });
});

it('with request logging on, every request goes through Fastify and is logged', async () => {
  const log = capturedLog('info');
  const server = await startServer({}, undefined, { logger: log.logger });
  try {
    const { token } = await server.user();
    const image = await uploadOk(server, token, await newPng());
    await server.settle();
    const path = new URL(image.url).pathname;
    for (let i = 0; i < 3; i++) expect((await fetch(image.url)).status).toBe(200);
    const incoming = log.lines.filter((line) => (line.req as { url?: string } | undefined)?.url === path);
    expect(incoming).toHaveLength(3);
  } finally {
    await server.close();
  }
});
