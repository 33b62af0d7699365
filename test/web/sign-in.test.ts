import { describe, expect, it } from 'vitest';
import { expectAccessible, newContext, screenshot, signIn, watchPageErrors } from '../helpers/browser.ts';
import { startServer } from '../helpers/server.ts';
import { serverAndBrowser } from '../helpers/web-fixture.ts';
import { cookiesOf } from '../helpers/web-forms.ts';

const web = serverAndBrowser();

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** A sign-in form fetched as a browser would, with the cookies and CSRF token it came with. */
async function signInForm(cookies: string[] = []) {
  const res = await fetch(`${web.server.url}/signin`, { headers: { cookie: cookies.join('; ') } });
  const html = await res.text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
  return { csrf, cookies: [...cookies, ...cookiesOf(res)] };
}

async function postSignIn(name: string, password: string, cookies: string[], csrf: string) {
  return fetch(`${web.server.url}/signin`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookies.join('; ') },
    body: form({ name, password, _csrf: csrf }),
  });
}

describe('signing in on the web', () => {
  it('signs in and out in a real browser, and the pages pass axe at desktop and phone width, light and dark', async () => {
    const user = await web.server.user();
    for (const viewport of ['desktop', 'phone'] as const) {
      for (const colorScheme of ['light', 'dark'] as const) {
        const context = await newContext(web.browser, { viewport, colorScheme });
        const page = await context.newPage();
        const errors = watchPageErrors(page);
        await page.goto(web.server.url);
        await expect.poll(() => page.getByRole('heading', { name: 'Sign in' }).isVisible()).toBe(true);
        await expectAccessible(page, `front page (${viewport}, ${colorScheme})`);
        await screenshot(page, `front-visitor-${viewport}-${colorScheme}`);

        await page.goto(`${web.server.url}/signin`);
        await page.getByLabel('User name').fill(user.name);
        await page.getByLabel('Password').fill('wrong password');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await expect.poll(() => page.getByRole('alert').textContent()).toContain('do not match');
        await expectAccessible(page, `sign-in error (${viewport}, ${colorScheme})`);

        await signIn(page, web.server.url, user.name, user.password);
        await expect.poll(() => page.getByRole('heading', { name: 'My images' }).isVisible()).toBe(true);
        const session = (await context.cookies()).find((c) => c.name === 'gazo_session');
        expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
        await page.getByRole('button', { name: /Sign out/ }).click();
        await expect.poll(() => page.getByRole('heading', { name: 'Sign in' }).isVisible()).toBe(true);
        expect((await context.cookies()).find((c) => c.name === 'gazo_session')).toBeUndefined();
        expect(errors).toEqual([]);
        await context.close();
      }
    }
  });

  it('refuses a sign-in form posted without its CSRF token (a cross-site form), changing nothing', async () => {
    const user = await web.server.user();
    const res = await postSignIn(user.name, user.password, [], '');
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie().some((c) => c.startsWith('gazo_session='))).toBe(false);
    const { csrf, cookies } = await signInForm();
    // A token from one browser is worthless with another browser's cookie.
    const other = await signInForm();
    expect((await postSignIn(user.name, user.password, other.cookies, csrf)).status).toBe(403);
    expect((await postSignIn(user.name, user.password, cookies, csrf)).status).toBe(303);
  });

  it('starts a new session id at sign-in, so a planted session cookie is useless (no fixation)', async () => {
    const user = await web.server.user();
    const planted = 'gazo_session=attacker-chosen-value';
    const { csrf, cookies } = await signInForm([planted]);
    const res = await postSignIn(user.name, user.password, cookies, csrf);
    expect(res.status).toBe(303);
    const issued = cookiesOf(res).find((c) => c.startsWith('gazo_session='));
    expect(issued).toBeDefined();
    expect(issued).not.toBe(planted);
    // The planted value does not sign anyone in; the issued one does.
    const asPlanted = await fetch(`${web.server.url}/`, { headers: { cookie: planted } });
    expect(await asPlanted.text()).not.toContain('My images');
    const asIssued = await fetch(`${web.server.url}/`, { headers: { cookie: issued as string } });
    expect(await asIssued.text()).toContain('My images');
  });

  it('shows a signed-in user their own navigation on an error page', async () => {
    const user = await web.server.user();
    const { csrf, cookies } = await signInForm();
    const res = await postSignIn(user.name, user.password, cookies, csrf);
    const session = cookiesOf(res).find((c) => c.startsWith('gazo_session=')) as string;
    // A form posted without its token: refused, on a page that still says who is signed in.
    const refused = await fetch(`${web.server.url}/signout`, {
      method: 'POST',
      headers: { cookie: session },
    });
    expect(refused.status).toBe(403);
    const page = await refused.text();
    expect(page).toContain(`(${user.name})`);
    expect(page).toContain('Not allowed');
  });

  it('never accepts a session cookie on /api/*', async () => {
    const user = await web.server.user();
    const { csrf, cookies } = await signInForm();
    const res = await postSignIn(user.name, user.password, cookies, csrf);
    const session = cookiesOf(res).find((c) => c.startsWith('gazo_session=')) as string;
    for (const path of ['/api/images', '/api/users/me', '/api/search?query=a']) {
      const api = await fetch(`${web.server.url}${path}`, { headers: { cookie: session } });
      expect(api.status, path).toBe(401);
      expect(await api.json()).toMatchObject({ message: expect.stringContaining('access_token') });
    }
  });

  it('rate-limits failed sign-ins by address', async () => {
    const limited = await startServer({ maxAuthFailuresPerMinute: 3 });
    try {
      const user = await limited.user();
      const attempt = async (password: string) => {
        const page = await fetch(`${limited.url}/signin`);
        const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
        return fetch(`${limited.url}/signin`, {
          method: 'POST',
          redirect: 'manual',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            cookie: cookiesOf(page).join('; '),
          },
          body: form({ name: user.name, password, _csrf: csrf }),
        });
      };
      for (let i = 0; i < 3; i++) expect((await attempt('wrong')).status).toBe(401);
      const refused = await attempt(user.password);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBeTruthy();
    } finally {
      await limited.close();
    }
  });

  it('keeps a disabled user out', async () => {
    const user = await web.server.user();
    const { csrf, cookies } = await signInForm();
    const res = await postSignIn(user.name, user.password, cookies, csrf);
    const session = cookiesOf(res).find((c) => c.startsWith('gazo_session=')) as string;
    await web.server.rt.store.users.setDisabled(user.id, Date.now());
    const page = await fetch(`${web.server.url}/`, { headers: { cookie: session } });
    expect(await page.text()).not.toContain('My images');
    const again = await signInForm();
    expect((await postSignIn(user.name, user.password, again.cookies, again.csrf)).status).toBe(401);
    expect((await fetch(`${web.server.url}/api/images?access_token=${user.token}`)).status).toBe(401);
  });
});
