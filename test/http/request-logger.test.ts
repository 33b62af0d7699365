import Fastify from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lazyChildLoggerFactory } from '../../src/http/request-logger.ts';
import { capturedLog } from '../helpers/logs.ts';

describe('request loggers, made only when a request logs', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => close?.());

  async function server(level: string) {
    const log = capturedLog(level);
    const app = Fastify({ logger: log.logger, childLoggerFactory: lazyChildLoggerFactory });
    app.get('/quiet', async () => ({ ok: true }));
    app.get('/chatty', async (request) => {
      request.log.info({ step: 1 }, 'info line');
      request.log.warn({ step: 2 }, 'warn line');
      request.log.child({ part: 'inner' }).error('error line');
      return { ok: true };
    });
    await app.ready();
    close = () => app.close();
    const children = vi.spyOn(app.log, 'child');
    return { app, log, children };
  }

  it('makes no child logger for a request that logs nothing', async () => {
    const { app, children } = await server('warn');
    for (let i = 0; i < 3; i++) expect((await app.inject('/quiet')).statusCode).toBe(200);
    expect(children).not.toHaveBeenCalled();
  });

  it("writes each line a request logs with its request id, at the server's level only", async () => {
    const { app, log } = await server('warn');
    expect((await app.inject('/chatty')).statusCode).toBe(200);
    expect((await app.inject('/chatty')).statusCode).toBe(200);
    const lines = log.lines.map(({ msg, reqId, step, part }) => ({ msg, reqId, step, part }));
    expect(lines).toEqual([
      { msg: 'warn line', reqId: 'req-1', step: 2, part: undefined },
      { msg: 'error line', reqId: 'req-1', step: undefined, part: 'inner' },
      { msg: 'warn line', reqId: 'req-2', step: 2, part: undefined },
      { msg: 'error line', reqId: 'req-2', step: undefined, part: 'inner' },
    ]);
  });

  it('logs info lines too when the server runs at info', async () => {
    const { app, log } = await server('info');
    expect((await app.inject('/chatty')).statusCode).toBe(200);
    expect(log.lines.map((l) => [l.msg, l.reqId])).toEqual([
      ['incoming request', 'req-1'],
      ['info line', 'req-1'],
      ['warn line', 'req-1'],
      ['error line', 'req-1'],
      ['request completed', 'req-1'],
    ]);
  });
});
