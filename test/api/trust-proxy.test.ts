import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config.ts';
import { capturedLog } from '../helpers/logs.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * X-Forwarded-For is the client's to write: it is believed only from the proxies the operator
 * named (`--trust-proxy`). The address Gazo believes is the one it logs and rate-limits.
 */
describe('--trust-proxy', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** The client address the server logged for one request that carries `forwardedFor`. */
  async function loggedClient(overrides: ConfigInput, forwardedFor: string): Promise<unknown> {
    const log = capturedLog();
    server = await startServer(overrides, undefined, { logger: log.logger });
    const res = await fetch(`${server.url}/healthz`, { headers: { 'x-forwarded-for': forwardedFor } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const incoming = log.lines.find((l) => l.msg === 'incoming request');
    expect(incoming, log.text()).toBeDefined();
    return (incoming?.req as { remoteAddress?: unknown } | undefined)?.remoteAddress;
  }

  it('is off by default: a spoofed X-Forwarded-For is not taken for the client', async () => {
    expect(await loggedClient({}, '203.0.113.9')).toBe('127.0.0.1');
  });

  it('believes a listed proxy, and only a listed one', async () => {
    expect(await loggedClient({ trustProxy: '127.0.0.1' }, '203.0.113.9')).toBe('203.0.113.9');
    await server?.close();
    expect(await loggedClient({ trustProxy: '10.0.0.0/8, 127.0.0.0/8' }, '203.0.113.9')).toBe('203.0.113.9');
    await server?.close();
    expect(await loggedClient({ trustProxy: '10.0.0.0/8' }, '203.0.113.9')).toBe('127.0.0.1');
  });

  it('with a hop count, believes that many proxies from the nearest one', async () => {
    expect(await loggedClient({ trustProxy: '1' }, '198.51.100.1, 203.0.113.9')).toBe('203.0.113.9');
    await server?.close();
    expect(await loggedClient({ trustProxy: 2 }, '198.51.100.1, 203.0.113.9')).toBe('198.51.100.1');
  });
});
