import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchBrowser } from './browser.ts';
import { startServer, type TestServer } from './server.ts';

/** One server and one browser for a test file (started before its tests, closed after). */
export function serverAndBrowser(): { server: TestServer; browser: Browser } {
  const fixture = {} as { server: TestServer; browser: Browser };
  beforeAll(async () => {
    [fixture.server, fixture.browser] = await Promise.all([startServer(), launchBrowser()]);
  });
  afterAll(async () => {
    await fixture.browser?.close();
    await fixture.server?.close();
  });
  return fixture;
}
