import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config.ts';
import { expectError, uploadOk } from '../helpers/api.ts';
import { solidPng } from '../helpers/images.ts';
import { capturedLog } from '../helpers/logs.ts';
import { form, startServer, type TestServer } from '../helpers/server.ts';

/**
 * Guessing credentials is limited per client address (`--max-auth-failures-per-minute`), and
 * each credential may have a daily request budget (`--max-requests-per-token-per-day`). Both
 * answer 429 with Retry-After and the Gyazo error shape.
 */
describe('abuse limits', () => {
  let server: TestServer;
  afterEach(() => server?.close());

  async function serve(overrides: ConfigInput, logger?: ReturnType<typeof capturedLog>['logger']) {
    server = await startServer(overrides, undefined, { logger });
    return server;
  }

  const me = (token: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/api/users/me`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  const list = (token: string) =>
    fetch(`${server.url}/api/images`, { headers: { authorization: `Bearer ${token}` } });
  const legacy = async (id: string) =>
    fetch(`${server.url}/upload.cgi`, {
      method: 'POST',
      body: form({ id, imagedata: { data: await solidPng(8, 8) } }),
    });
  const badToken = (i: number) => `not-a-token-${i}-${'x'.repeat(30)}`;

  /** A 429 in the Gyazo shape, with a Retry-After of whole seconds within `maxSeconds`. */
  async function expectLimited(res: Response, path: string, maxSeconds: number, method = 'GET') {
    const body = await expectError(res, 429, { path, method });
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= maxSeconds, `${retryAfter}`).toBe(
      true,
    );
    return body;
  }

  describe('failed authentications per address', () => {
    it('answers 429 once an address has failed N times, and then refuses even a good token', async () => {
      await serve({ maxAuthFailuresPerMinute: 5 });
      const { token } = await server.user();
      for (let i = 0; i < 5; i++) expect((await me(badToken(i))).status).toBe(401);
      const body = await expectLimited(await me(badToken(5)), '/api/users/me', 60);
      expect(JSON.stringify(body)).not.toContain('not-a-token');
      // Were a good token let through now, the limit would confirm a lucky guess.
      await expectLimited(await me(token), '/api/users/me', 60);
      const upload = await fetch(`${server.url}/api/upload?access_token=${token}`, {
        method: 'POST',
        body: form({ imagedata: { data: await solidPng(8, 8) } }),
      });
      await expectLimited(upload, '/api/upload', 60, 'POST');
      expect(await server.imageCount()).toBe(0);
    });

    it('refuses a good token on a list page answered from memory, once its address is limited', async () => {
      await serve({ maxAuthFailuresPerMinute: 3 });
      const { token } = await server.user();
      // The page is kept after its second read: from then on the token and page are in memory.
      for (let i = 0; i < 4; i++) expect((await list(token)).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await me(badToken(i))).status).toBe(401);
      await expectLimited(await list(token), '/api/images', 60);
    });

    it('never limits a client whose token is good, and counts only failures', async () => {
      await serve({ maxAuthFailuresPerMinute: 3 });
      const { token } = await server.user();
      for (let round = 0; round < 5; round++) {
        const answers = await Promise.all(Array.from({ length: 10 }, () => me(token)));
        expect(answers.map((r) => r.status)).toEqual(Array(10).fill(200));
      }
      await uploadOk(server, token, await solidPng(9, 9));
      for (let i = 0; i < 3; i++) expect((await me(badToken(i))).status).toBe(401);
      expect((await me(badToken(3))).status).toBe(429);
    });

    it('does not count requests that carry no credential at all', async () => {
      await serve({ maxAuthFailuresPerMinute: 2 });
      for (let i = 0; i < 6; i++) {
        expect((await fetch(`${server.url}/api/images`)).status).toBe(401);
        // A desktop client's first run sends an empty device id.
        expect((await legacy('')).status).toBe(401);
      }
    });

    it('counts every way of authenticating: query, header, form field, device id, token on a file', async () => {
      await serve({ maxAuthFailuresPerMinute: 5 });
      const { token } = await server.user();
      const image = await uploadOk(server, token, await solidPng(10, 10));
      const bad = 'z'.repeat(43);
      const failures = [
        fetch(`${server.url}/api/images?access_token=${bad}`),
        me(bad),
        fetch(`${server.url}/api/upload`, {
          method: 'POST',
          body: form({ access_token: bad, imagedata: { data: await solidPng(8, 8) } }),
        }),
        legacy('0'.repeat(40)),
        fetch(`${server.url}/${image.image_id}.png?access_token=${bad}`),
      ];
      for (const attempt of failures) {
        const res = await attempt;
        await res.arrayBuffer();
        // The public file is served all the same, as to anyone without a token.
        expect([200, 401]).toContain(res.status);
      }
      // upload.cgi answers in plain text, as its clients expect, with the same status and header.
      const res = await legacy('1'.repeat(40));
      expect(res.status).toBe(429);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await res.text()).toMatch(/too many/i);
      await expectLimited(await fetch(`${server.url}/api/images?access_token=${token}`), '/api/images', 60);
      // Anonymous visitors of public pages and files are not refused.
      expect((await fetch(`${server.url}/${image.image_id}.png`)).status).toBe(200);
    });

    it('is not dodged with a made-up X-Forwarded-For, unless the proxy is trusted', async () => {
      await serve({ maxAuthFailuresPerMinute: 3 });
      for (let i = 0; i < 3; i++) {
        const res = await me(badToken(i), { 'x-forwarded-for': `203.0.113.${i}` });
        expect(res.status).toBe(401);
      }
      expect((await me(badToken(9), { 'x-forwarded-for': '203.0.113.77' })).status).toBe(429);
      await server.close();

      await serve({ maxAuthFailuresPerMinute: 3, trustProxy: '127.0.0.1' });
      const from = (ip: string) => ({ 'x-forwarded-for': ip });
      for (let i = 0; i < 3; i++) expect((await me(badToken(i), from('203.0.113.1'))).status).toBe(401);
      expect((await me(badToken(3), from('203.0.113.1'))).status).toBe(429);
      expect((await me(badToken(4), from('203.0.113.2'))).status).toBe(401);
    });

    it('logs a burst once, at warn, with the address and without any token', async () => {
      const log = capturedLog('warn');
      await serve({ maxAuthFailuresPerMinute: 5 }, log.logger);
      const statuses: number[] = [];
      // 200 guesses, 20 at a time: five are checked, the rest refused.
      for (let batch = 0; batch < 10; batch++) {
        const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => me(badToken(batch * 20 + i))));
        for (const r of answers) {
          statuses.push(r.status);
          await r.arrayBuffer();
        }
      }
      expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5 + 20);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(200 - 25);
      const warnings = log.lines.filter((l) => l.level === 40);
      expect(warnings, log.text()).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ clientAddress: '127.0.0.1', failures: 5 });
      expect(log.text()).not.toContain('not-a-token');
    });
  });

  describe('requests per token per day', () => {
    it('is off by default', async () => {
      await serve({});
      const { token } = await server.user();
      const answers = await Promise.all(Array.from({ length: 40 }, () => me(token)));
      expect(answers.every((r) => r.status === 200)).toBe(true);
    });

    it('answers 429 with Retry-After when a token has spent its budget; other tokens go on', async () => {
      await serve({ maxRequestsPerTokenPerDay: 3 });
      const { token, name } = await server.user();
      for (let i = 0; i < 3; i++) expect((await me(token)).status).toBe(200);
      const body = await expectLimited(await me(token), '/api/users/me', 86_400);
      expect(body.message).toMatch(/3 requests/);
      expect(Number((await me(token)).headers.get('retry-after'))).toBeGreaterThan(86_000);
      const { token: second } = await server.rt.accounts.createToken(name);
      expect((await me(second)).status).toBe(200);
      // Spending a budget is not a failed authentication.
      for (let i = 0; i < 40; i++) expect((await me(token)).status).toBe(429);
      expect((await me(second)).status).toBe(200);
    });

    it('counts list pages answered from memory against the budget too', async () => {
      await serve({ maxRequestsPerTokenPerDay: 5 });
      const { token } = await server.user();
      for (let i = 0; i < 5; i++) expect((await list(token)).status).toBe(200);
      await expectLimited(await list(token), '/api/images', 86_400);
    });

    it('budgets a legacy device id the same way', async () => {
      await serve({ maxRequestsPerTokenPerDay: 1 });
      const { name } = await server.user();
      const { deviceId } = await server.rt.accounts.createDevice(name);
      expect((await legacy(deviceId)).status).toBe(200);
      const res = await legacy(deviceId);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(86_000);
      expect(await server.imageCount()).toBe(1);
    });
  });
});

describe('the OpenAPI description', () => {
  it('lists 429 for every route that takes a token', async () => {
    const server = await startServer();
    try {
      const spec = await (await fetch(`${server.url}/api/openapi.json`)).json();
      const operations = Object.entries(
        spec.paths as Record<
          string,
          Record<string, { security?: unknown; responses: Record<string, unknown> }>
        >,
      )
        .flatMap(([path, methods]) =>
          Object.entries(methods).map(([method, op]) => ({ at: `${method} ${path}`, op })),
        )
        .filter(({ op }) => op.security);
      expect(operations.length).toBeGreaterThanOrEqual(6);
      for (const { at, op } of operations) expect(Object.keys(op.responses), at).toContain('429');
    } finally {
      await server.close();
    }
  });
});
