import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's chromium (`.ci/run` installs it); never a browser downloaded by a test tool. */
export const CHROMIUM = process.env.GAZO_TEST_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Headless Chromium with the flags this machine needs: without the background-networking ones
 * it keeps trying to reach Google's hosts on a closed network. A missing browser fails loudly.
 */
export async function launchBrowser(): Promise<Browser> {
  try {
    await fs.access(CHROMIUM);
  } catch {
    throw new Error(`No Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export type Viewport = 'desktop' | 'phone';
const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };

/** A fresh browser profile (no cookies), at a desktop or phone size, light or dark. */
export function newContext(
  browser: Browser,
  options: { viewport?: Viewport; colorScheme?: 'light' | 'dark' } = {},
): Promise<BrowserContext> {
  const viewport = options.viewport ?? 'desktop';
  return browser.newContext({
    viewport: VIEWPORTS[viewport],
    deviceScaleFactor: 1,
    isMobile: viewport === 'phone',
    hasTouch: viewport === 'phone',
    colorScheme: options.colorScheme ?? 'light',
  });
}

const require = createRequire(import.meta.url);
let axeSource: Promise<string> | undefined;

/**
 * The web tests run twice, on SQLite and on PostgreSQL (`npm run test:postgres`). A page's markup
 * is the same whichever store answered, so axe and the screenshots run on the SQLite run only:
 * they are a fifth of the web tests' time, and the whole suite runs close to its 15 minutes.
 */
const MARKUP_CHECKED_ELSEWHERE = process.env.GAZO_TEST_STORE === 'postgres';

/**
 * Runs axe-core on the page and fails on any serious or critical violation. axe is evaluated
 * through the DevTools protocol, which the page's CSP does not govern (no CSP bypass needed).
 */
export async function expectAccessible(page: Page, label = page.url()): Promise<void> {
  if (MARKUP_CHECKED_ELSEWHERE) return;
  axeSource ??= fs.readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(await axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run();
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.map((n) => n.target.join(' ')),
      }));
  });
  expect(violations, `axe on ${label}`).toEqual([]);
}
interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/**
 * Saves a screenshot under `.scratch/screens/` (git-ignored) for a person to look at; tests
 * take them of every page at desktop and phone widths, light and dark.
 */
export async function screenshot(page: Page, name: string): Promise<string | undefined> {
  if (MARKUP_CHECKED_ELSEWHERE) return undefined;
  const dir = process.env.GAZO_SCREENSHOTS ?? path.join(process.cwd(), '.scratch', 'screens');
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Collects what the page's CSP refused and what its scripts threw: a page test expects none. */
export function watchPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  // CSP refusals are console errors; a page's own status (a 401 sign-in page) is not a fault.
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      errors.push(`console: ${msg.text()}`);
    }
  });
  page.on('response', (res) => {
    const type = res.request().resourceType();
    if (res.status() >= 400 && type !== 'document' && type !== 'fetch' && type !== 'xhr') {
      errors.push(`${res.status()} for ${type} ${res.url()}`);
    }
  });
  return errors;
}

export const tmpDownloadDir = () => fs.mkdtemp(path.join(os.tmpdir(), 'gazo-dl-'));

/** Signs in through the form, as a person would. */
export async function signIn(page: Page, baseUrl: string, name: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/signin`);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => !url.pathname.startsWith('/signin'));
}
