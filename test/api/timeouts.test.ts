import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../../src/config.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/**
 * A client may not hold a connection for as long as it likes: slow headers, a slow body and an
 * idle kept-alive connection are each cut off after their timeout, and past `--max-connections`
 * new connections are closed at once. Few sockets and short timeouts; 127.0.0.1 only.
 */

interface Probe {
  socket: net.Socket;
  /** Everything the server sent. */
  received(): string;
  /** Milliseconds from connecting until the server closed the connection (undefined: still open). */
  closedAfter(): number | undefined;
  closed: Promise<void>;
}

function connect(port: number): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let closedAt: number | undefined;
    let data = '';
    const socket = net.connect(port, '127.0.0.1');
    const closed = new Promise<void>((done) =>
      socket.on('close', () => {
        closedAt = Date.now();
        done();
      }),
    );
    socket.setEncoding('utf8').on('data', (d: string) => {
      data += d;
    });
    socket.on('error', () => {}); // a reset is one of the ways of being cut off
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => data,
        closedAfter: () => (closedAt === undefined ? undefined : closedAt - started),
        closed,
      }),
    );
    socket.once('error', reject);
  });
}

/** Writes one byte every `everyMs` until the socket closes or `forMs` has passed. */
function trickle(probe: Probe, everyMs: number, forMs: number) {
  const until = Date.now() + forMs;
  const timer = setInterval(() => {
    if (probe.socket.destroyed || Date.now() > until) return clearInterval(timer);
    probe.socket.write('a');
  }, everyMs);
  probe.closed.then(() => clearInterval(timer));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once every probe is closed, or after `ms` with whatever is still open. */
async function settle(probes: Probe[], ms: number) {
  await Promise.race([Promise.all(probes.map((p) => p.closed)), sleep(ms)]);
  return probes.filter((p) => p.closedAfter() === undefined);
}

describe('connection timeouts and cap', () => {
  let server: TestServer | undefined;
  const probes: Probe[] = [];
  afterEach(async () => {
    for (const p of probes.splice(0)) p.socket.destroy();
    await server?.close();
    server = undefined;
  });

  async function serve(overrides: ConfigInput) {
    server = await startServer(overrides);
    return Number(new URL(server.url).port);
  }

  it('cuts off clients that send their headers a byte at a time', async () => {
    const port = await serve({ headersTimeout: 1, requestTimeout: 30 });
    for (let i = 0; i < 10; i++) {
      const probe = await connect(port);
      probes.push(probe);
      probe.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
      trickle(probe, 200, 30_000);
    }
    // 1 s allowed, checked every second; the rest is margin for a busy machine.
    const open = await settle(probes, 8000);
    expect(open.length, 'connections still open').toBe(0);
    for (const p of probes) expect(p.closedAfter()).toBeLessThan(8000);
    expect(probes[0]?.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('cuts off a body that arrives too slowly', async () => {
    const port = await serve({ headersTimeout: 1, requestTimeout: 2 });
    const { token } = await (server as TestServer).user();
    const probe = await connect(port);
    probes.push(probe);
    probe.socket.write(
      'POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
        `Authorization: Bearer ${token}\r\n` +
        'Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 100000\r\n\r\n' +
        '--XyZ\r\nContent-Disposition: form-data; name="imagedata"; filename="a.png"\r\n\r\n',
    );
    trickle(probe, 200, 30_000);
    expect(await settle(probes, 10_000)).toHaveLength(0);
    expect(probe.closedAfter()).toBeGreaterThanOrEqual(1900);
    expect(probe.closedAfter()).toBeLessThan(10_000);
  });

  it('closes a kept-alive connection that idles past the idle timeout', async () => {
    const port = await serve({ idleTimeout: 1 });
    const probe = await connect(port);
    probes.push(probe);
    probe.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    expect(await settle(probes, 8000)).toHaveLength(0);
    expect(probe.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(probe.received()).toMatch(/keep-alive/i);
  });

  it('closes connections past --max-connections at once, and serves again when one goes', async () => {
    const port = await serve({ maxConnections: 3 });
    const held = [await connect(port), await connect(port), await connect(port)];
    probes.push(...held);
    // Let the server accept all three before the fourth arrives.
    await sleep(200);
    const extra = await connect(port);
    probes.push(extra);
    extra.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(await settle([extra], 3000)).toHaveLength(0);
    expect(extra.received()).toBe('');
    expect(held.every((p) => p.closedAfter() === undefined)).toBe(true);

    held[0]?.socket.destroy();
    await held[0]?.closed;
    await sleep(200);
    const next = await connect(port);
    probes.push(next);
    next.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    await settle([next], 5000);
    expect(next.received()).toMatch(/^HTTP\/1\.1 200/);
  });
});
