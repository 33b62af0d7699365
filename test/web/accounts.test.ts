import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectAccessible,
  launchBrowser,
  newContext,
  screenshot,
  signIn,
  watchPageErrors,
} from '../helpers/browser.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { FormClient } from '../helpers/web-forms.ts';

let server: TestServer;
let browser: Browser;
let admin: Awaited<ReturnType<TestServer['user']>>;

beforeAll(async () => {
  [server, browser] = await Promise.all([startServer(), launchBrowser()]);
  // The server's first user: its admin.
  admin = await server.user('root');
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function signedInPage(
  user: { name: string; password: string },
  options: Parameters<typeof newContext>[1] = {},
  url = server.url,
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await newContext(browser, options);
  const page = await context.newPage();
  const errors = watchPageErrors(page);
  await signIn(page, url, user.name, user.password);
  return { context, page, errors };
}

const heading = (page: Page, name: string | RegExp) => page.getByRole('heading', { name, level: 1 });

async function makeInvite(page: Page): Promise<string> {
  await page.goto(`${server.url}/admin`);
  await page.getByRole('button', { name: 'Make an invite link' }).click();
  const link = await page.getByLabel(/New invite link/).inputValue();
  expect(link).toMatch(new RegExp(`^${server.url}/invite/[\\w-]{43}$`));
  return link;
}

describe('the account page', () => {
  it('changes the password with the current one, signing out the other browsers (not this one)', async () => {
    const user = await server.user();
    const here = await signedInPage(user);
    const there = await signedInPage(user);

    await here.page.getByRole('link', { name: 'Account' }).click();
    await expect.poll(() => heading(here.page, 'Account').isVisible()).toBe(true);
    const sessions = here.page.getByRole('region', { name: 'Sessions' }).getByRole('listitem');
    await expect.poll(() => sessions.count()).toBe(2);
    await expect.poll(() => here.page.getByText('This browser').count()).toBe(1);

    // Wrong current password: refused, and nothing changes.
    await here.page.getByLabel('Current password').fill('not the password');
    await here.page.getByLabel('New password', { exact: false }).first().fill('brand new password');
    await here.page.getByLabel('New password again').fill('brand new password');
    await here.page.getByRole('button', { name: 'Change password' }).click();
    await expect.poll(() => here.page.getByRole('alert').textContent()).toContain('not right');
    await there.page.reload();
    await expect.poll(() => heading(there.page, 'My images').isVisible()).toBe(true);

    // Typed by keyboard, as a person would: the fields follow one another in tab order.
    await here.page.getByLabel('Current password').fill(user.password);
    await here.page.keyboard.press('Tab');
    await here.page.keyboard.type('brand new password');
    await here.page.keyboard.press('Tab');
    await here.page.keyboard.type('brand new password');
    await here.page.keyboard.press('Enter');
    await expect
      .poll(() => here.page.getByRole('status').textContent())
      .toBe('Your password was changed. 1 other session was signed out.');
    await expect.poll(() => sessions.count()).toBe(1);

    // The other browser is signed out at once; this one is not.
    await there.page.reload();
    await expect.poll(() => heading(there.page, /Gazo: screenshots/).isVisible()).toBe(true);
    await here.page.goto(server.url);
    await expect.poll(() => heading(here.page, 'My images').isVisible()).toBe(true);

    const forms = new FormClient(server.url);
    expect(
      (await forms.post('/signin', { name: user.name, password: user.password }, undefined, '/signin'))
        .status,
    ).toBe(401);
    await forms.signIn(user.name, 'brand new password');
    expect(here.errors).toEqual([]);
    await here.context.close();
    await there.context.close();
  });

  it('signs out the other sessions with one button', async () => {
    const user = await server.user();
    const other = await new FormClient(server.url).signIn(user.name, user.password);
    const here = await signedInPage(user);
    await here.page.goto(`${server.url}/account`);
    await here.page.getByRole('button', { name: 'Sign out other sessions' }).click();
    await expect
      .poll(() => here.page.getByRole('status').textContent())
      .toBe('1 other session was signed out.');
    await expect.poll(() => here.page.getByText('No other sessions.').isVisible()).toBe(true);
    expect((await other.get('/account')).status).toBe(303);
    expect((await here.page.goto(`${server.url}/account`))?.status()).toBe(200);
    await here.context.close();
  });

  it('refuses a new password that is short or not repeated the same, changing nothing', async () => {
    const user = await server.user();
    const forms = await new FormClient(server.url).signIn(user.name, user.password);
    const short = await forms.post(
      '/account/password',
      { current: user.password, password: 'short', repeat: 'short' },
      undefined,
      '/account',
    );
    expect(short.status).toBe(400);
    expect(short.html).toContain('at least 8 characters');
    const differ = await forms.post(
      '/account/password',
      { current: user.password, password: 'long enough 1', repeat: 'long enough 2' },
      undefined,
      '/account',
    );
    expect(differ.status).toBe(400);
    expect(differ.html).toContain('differ');
    await new FormClient(server.url).signIn(user.name, user.password);
  });

  it('sends a visitor to sign in first, and back', async () => {
    const res = await new FormClient(server.url).get('/account');
    expect(res.status).toBe(303);
    const visitor = await newContext(browser);
    const page = await visitor.newPage();
    const user = await server.user();
    await page.goto(`${server.url}/account`);
    await page.getByLabel('User name').fill(user.name);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => heading(page, 'Account').isVisible()).toBe(true);
    await visitor.close();
  });
});

describe('invites', () => {
  it('an admin makes a link in the web UI; one person signs up through it, and it never works again', async () => {
    const root = await signedInPage(admin);
    await root.page.getByRole('link', { name: 'Admin' }).click();
    const link = await makeInvite(root.page);
    await expect
      .poll(() => root.page.getByRole('region', { name: 'Invites' }).getByRole('row').count())
      .toBe(2);

    const guest = await newContext(browser);
    const page = await guest.newPage();
    const errors = watchPageErrors(page);
    await page.goto(link);
    await expect.poll(() => heading(page, 'Sign up').isVisible()).toBe(true);
    await expect.poll(() => page.getByText('root invited you').isVisible()).toBe(true);
    await page.getByLabel(/User name/).fill('newcomer');
    await page.getByLabel(/Email/).fill('newcomer@example.com');
    await page.getByLabel(/^Password \(/).fill('newcomer password');
    await page.getByLabel('Password again').fill('newcomer password');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await expect.poll(() => heading(page, 'My images').isVisible()).toBe(true);
    await page.goto(`${server.url}/account`);
    await expect.poll(() => page.getByText('newcomer@example.com').isVisible()).toBe(true);
    expect(errors).toEqual([]);

    // Used: the link is dead, for this browser and any other.
    const late = await newContext(browser);
    const latePage = await late.newPage();
    const res = await latePage.goto(link);
    expect(res?.status()).toBe(404);
    await expect.poll(() => latePage.getByText(/does not work/).isVisible()).toBe(true);
    const replay = new FormClient(server.url);
    const token = link.split('/invite/')[1] as string;
    const posted = await replay.post(
      `/invite/${token}`,
      { name: 'second', password: 'second password', repeat: 'second password' },
      undefined,
      '/signin',
    );
    expect(posted.status).toBe(404);
    expect(await server.rt.store.users.findByName('second')).toBeUndefined();
    const row = await server.rt.store.users.findByName('newcomer');
    expect(row).toMatchObject({ is_admin: 0, email: 'newcomer@example.com' });

    await root.page.goto(`${server.url}/admin`);
    await expect.poll(() => root.page.getByText('No unused invites.').isVisible()).toBe(true);
    await expect.poll(() => root.page.getByRole('rowheader', { name: 'newcomer' }).isVisible()).toBe(true);
    await Promise.all([root.context.close(), guest.close(), late.close()]);
  });

  it('a revoked link stops working; a link with a bad token is refused', async () => {
    const root = await signedInPage(admin);
    const link = await makeInvite(root.page);
    await root.page.goto(`${server.url}/admin`);
    await root.page
      .getByRole('button', { name: /^Revoke the invite made/ })
      .first()
      .click();
    await expect.poll(() => root.page.getByRole('status').textContent()).toContain('revoked');
    const visitor = new FormClient(server.url);
    expect((await visitor.get(new URL(link).pathname)).status).toBe(404);
    expect((await visitor.get('/invite/not-a-real-token')).status).toBe(404);
    await root.context.close();
  });

  it('registration is closed by default: /signup does not exist', async () => {
    const visitor = new FormClient(server.url);
    expect((await visitor.get('/signup')).status).toBe(404);
    const posted = await visitor.post(
      '/signup',
      { name: 'walkin', password: 'walkin password', repeat: 'walkin password' },
      undefined,
      '/signin',
    );
    expect(posted.status).toBe(404);
    expect(await server.rt.store.users.findByName('walkin')).toBeUndefined();
  });
});

describe('the admin page', () => {
  it('disabling a user ends their open session and stops their token at once; enabling brings them back', async () => {
    const bob = await server.user();
    const victim = await signedInPage(bob);
    const api = () =>
      fetch(`${server.url}/api/users/me`, { headers: { authorization: `Bearer ${bob.token}` } });
    expect((await api()).status).toBe(200);

    const root = await signedInPage(admin);
    await root.page.goto(`${server.url}/admin`);
    await root.page.getByRole('button', { name: `Disable ${bob.name}` }).click();
    await expect
      .poll(() => root.page.getByRole('status').textContent())
      .toContain(`${bob.name} was disabled`);
    const row = root.page
      .getByRole('row')
      .filter({ has: root.page.getByRole('rowheader', { name: bob.name }) });
    await expect.poll(() => row.getByText('Disabled').isVisible()).toBe(true);

    expect((await api()).status).toBe(401);
    await victim.page.reload();
    await expect.poll(() => heading(victim.page, /Gazo: screenshots/).isVisible()).toBe(true);
    expect(await server.rt.store.sessions.listForUser(bob.id, Date.now())).toEqual([]);

    await root.page.getByRole('button', { name: `Enable ${bob.name}` }).click();
    await expect.poll(() => root.page.getByRole('status').textContent()).toContain('enabled again');
    expect((await api()).status).toBe(200);
    await Promise.all([victim.context.close(), root.context.close()]);
  });

  it('offers no way for an admin to disable or demote themselves, and refuses a forged one', async () => {
    const root = await signedInPage(admin);
    await root.page.goto(`${server.url}/admin`);
    await expect.poll(() => root.page.getByRole('rowheader', { name: /root/ }).isVisible()).toBe(true);
    expect(await root.page.getByRole('button', { name: 'Disable root' }).count()).toBe(0);
    expect(await root.page.getByRole('button', { name: 'Remove admin root' }).count()).toBe(0);
    const forms = await new FormClient(server.url).signIn(admin.name, admin.password);
    const forged = await forms.post(`/admin/users/${admin.id}/disable`, {}, undefined, '/admin');
    expect(forged.status).toBe(400);
    expect(forged.html).toContain('cannot disable yourself');
    expect((await server.rt.store.users.findById(admin.id))?.disabled_at).toBeNull();
    await root.context.close();
  });

  it('makes and unmakes admins', async () => {
    const carol = await server.user();
    const root = await signedInPage(admin);
    await root.page.goto(`${server.url}/admin`);
    await root.page.getByRole('button', { name: `Make admin ${carol.name}` }).click();
    await expect
      .poll(() => root.page.getByRole('status').textContent())
      .toContain(`${carol.name} is now an admin`);
    const asCarol = await new FormClient(server.url).signIn(carol.name, carol.password);
    expect((await asCarol.get('/admin')).status).toBe(200);
    await root.page.getByRole('button', { name: `Remove admin ${carol.name}` }).click();
    await expect.poll(() => root.page.getByRole('status').textContent()).toContain('no longer an admin');
    expect((await asCarol.get('/admin')).status).toBe(404);
    await root.context.close();
  });

  it('is not there for anyone but admins: pages and every form answer 404 and change nothing', async () => {
    const bob = await server.user();
    const target = await server.user();
    const asBob = await new FormClient(server.url).signIn(bob.name, bob.password);
    expect((await asBob.get('/admin')).status).toBe(404);
    const invitesBefore = await server.rt.store.invites.listUsable(Date.now());
    for (const path of [
      `/admin/users/${target.id}/disable`,
      `/admin/users/${bob.id}/admin`,
      '/admin/invites',
      `/admin/invites/${invitesBefore[0]?.id ?? 1}/revoke`,
    ]) {
      // With a good CSRF token of bob's own: it is not the token that stops him.
      const res = await asBob.post(path, {}, undefined, '/account');
      expect(res.status, path).toBe(404);
    }
    expect(await server.rt.store.users.findById(target.id)).toMatchObject({ disabled_at: null });
    expect(await server.rt.store.users.findById(bob.id)).toMatchObject({ is_admin: 0 });
    expect(await server.rt.store.invites.listUsable(Date.now())).toEqual(invitesBefore);
    // A visitor is sent to sign in, and a browser does not show bob an Admin link.
    expect((await new FormClient(server.url).get('/admin')).status).toBe(303);
    const page = await signedInPage(bob);
    expect(await page.page.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    expect((await page.page.goto(`${server.url}/admin`))?.status()).toBe(404);
    await page.context.close();
  });
});

describe('CSRF', () => {
  it("refuses a form another site posts with the admin's own cookies (a real browser, same site, other port)", async () => {
    const target = await server.user();
    const root = await signedInPage(admin);
    // Another port on 127.0.0.1 is the same *site*: SameSite=Lax cookies go along, so only the token stops it.
    const evil = http.createServer((_req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><form id="f" method="post" action="${server.url}/admin/users/${target.id}/disable"></form>
<form id="g" method="post" action="${server.url}/admin/invites"></form>
<script>document.getElementById(location.hash === '#g' ? 'g' : 'f').submit()</script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = evil.address() as AddressInfo;
      const invites = await server.rt.store.invites.listUsable(Date.now());
      for (const hash of ['#f', '#g']) {
        const answer = root.page.waitForResponse(
          (r) => r.url().startsWith(server.url) && r.request().method() === 'POST',
        );
        await root.page.goto(`http://127.0.0.1:${port}/${hash}`);
        const res = await answer;
        expect(res.status(), hash).toBe(403);
        expect((await res.request().allHeaders()).cookie).toContain('gazo_session=');
      }
      expect(await server.rt.store.users.findById(target.id)).toMatchObject({ disabled_at: null });
      expect(await server.rt.store.invites.listUsable(Date.now())).toEqual(invites);
    } finally {
      evil.close();
      await root.context.close();
    }
  });

  it('refuses every account and admin form posted without its token, changing nothing', async () => {
    const user = await server.user();
    const forms = await new FormClient(server.url).signIn(user.name, user.password);
    const other = await new FormClient(server.url).signIn(user.name, user.password);
    const asAdmin = await new FormClient(server.url).signIn(admin.name, admin.password);
    const invites = await server.rt.store.invites.listUsable(Date.now());
    const attempts: Array<[FormClient, string, Record<string, string>]> = [
      [
        forms,
        '/account/password',
        { current: user.password, password: 'hijacked password', repeat: 'hijacked password' },
      ],
      [forms, '/account/sessions/end-others', {}],
      [asAdmin, `/admin/users/${user.id}/disable`, {}],
      [asAdmin, `/admin/users/${user.id}/admin`, {}],
      [asAdmin, '/admin/invites', {}],
      [
        new FormClient(server.url),
        '/invite/whatever',
        { name: 'x1', password: 'x1 password', repeat: 'x1 password' },
      ],
    ];
    for (const [client, path, fields] of attempts) {
      expect((await client.post(path, fields, '')).status, path).toBe(403);
    }
    // Nothing changed: the old password works, the other session lives, no invite was made.
    expect((await other.get('/account')).status).toBe(200);
    await new FormClient(server.url).signIn(user.name, user.password);
    expect(await server.rt.store.users.findById(user.id)).toMatchObject({ disabled_at: null, is_admin: 0 });
    expect(await server.rt.store.invites.listUsable(Date.now())).toEqual(invites);
  });
});

describe('open registration', () => {
  let open: TestServer;
  beforeAll(async () => {
    open = await startServer({ registration: 'open' });
  });
  afterAll(() => open?.close());

  it('refuses sign-up while the server has no admin yet', async () => {
    const visitor = new FormClient(open.url);
    const res = await visitor.signUp('first', 'first password');
    expect(res.status).toBe(403);
    expect(res.html).toContain('gazo user create');
    expect(await open.rt.store.users.list()).toEqual([]);
  });

  it('lets a visitor sign up from the front page and signs them in', async () => {
    await open.user('openroot');
    const context = await newContext(browser);
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(open.url);
    await page.getByRole('link', { name: 'signing up' }).click();
    await expect.poll(() => heading(page, 'Sign up').isVisible()).toBe(true);
    await page.getByLabel(/User name/).fill('walkin');
    await page.getByLabel(/^Password \(/).fill('walkin password');
    await page.getByLabel('Password again').fill('walkin passwort');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('differ');
    // What was typed stays, but never a password.
    expect(await page.getByLabel(/User name/).inputValue()).toBe('walkin');
    expect(await page.getByLabel(/^Password \(/).inputValue()).toBe('');
    await page.getByLabel(/^Password \(/).fill('walkin password');
    await page.getByLabel('Password again').fill('walkin password');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await expect.poll(() => heading(page, 'My images').isVisible()).toBe(true);
    expect(await open.rt.store.users.findByName('walkin')).toMatchObject({ is_admin: 0, email: null });
    // A taken name, in any case, is refused.
    const again = new FormClient(open.url);
    const taken = await again.signUp('Walkin', 'walkin password');
    expect(taken.status).toBe(400);
    expect(taken.html).toContain('already exists');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('makes at most 5 accounts an hour from one address', async () => {
    const limited = await startServer({ registration: 'open' });
    try {
      await limited.user('limitroot');
      const signUp = (n: number) => new FormClient(limited.url).signUp(`bulk${n}`, 'bulk password');
      for (let n = 1; n <= 5; n++) expect((await signUp(n)).status).toBe(303);
      const refused = await signUp(6);
      expect(refused.status).toBe(429);
      expect(refused.res.headers.get('retry-after')).toBeTruthy();
      expect(await limited.rt.store.users.findByName('bulk6')).toBeUndefined();
    } finally {
      await limited.close();
    }
  });

  it('counts refused sign-ups and bad invite links like failed sign-ins', async () => {
    const limited = await startServer({ registration: 'open', maxAuthFailuresPerMinute: 3 });
    try {
      await limited.user('failroot');
      const visitor = new FormClient(limited.url);
      expect((await visitor.get('/invite/guess-1')).status).toBe(404);
      expect((await visitor.signUp('failroot', 'some password')).status).toBe(400);
      expect((await visitor.signUp('x', 'short')).status).toBe(400);
      const refused = await visitor.signUp('fine', 'fine password');
      expect(refused.status).toBe(429);
      expect(await limited.rt.store.users.findByName('fine')).toBeUndefined();
    } finally {
      await limited.close();
    }
  });
});

describe('how the pages look', () => {
  it('passes axe on every page at desktop and phone width, light and dark', async () => {
    const open = await startServer({ registration: 'open' });
    try {
      await open.user('lookroot');
      const user = await server.user('screenshot.user');
      const inviteLink = await (async () => {
        const root = await signedInPage(admin);
        const link = await makeInvite(root.page);
        await root.page.close();
        await root.context.close();
        return link;
      })();
      for (const viewport of ['desktop', 'phone'] as const) {
        for (const colorScheme of ['light', 'dark'] as const) {
          const label = `${viewport}-${colorScheme}`;
          const root = await signedInPage(admin, { viewport, colorScheme });
          await root.page.goto(`${server.url}/admin`);
          await root.page.getByRole('button', { name: 'Make an invite link' }).click();
          await expect.poll(() => root.page.getByLabel(/New invite link/).isVisible()).toBe(true);
          await expectAccessible(root.page, `admin ${label}`);
          await screenshot(root.page, `admin-${label}`);
          await root.page.goto(`${server.url}/account`);
          await expectAccessible(root.page, `account ${label}`);
          await screenshot(root.page, `account-admin-${label}`);
          expect(root.errors).toEqual([]);
          await root.context.close();

          const member = await signedInPage(user, { viewport, colorScheme });
          await new FormClient(server.url).signIn(user.name, user.password);
          await member.page.goto(`${server.url}/account?done=password&ended=1`);
          await expectAccessible(member.page, `account ${label}`);
          await screenshot(member.page, `account-${label}`);
          await member.context.close();

          const visitor = await newContext(browser, { viewport, colorScheme });
          const page = await visitor.newPage();
          const errors = watchPageErrors(page);
          await page.goto(inviteLink);
          await expectAccessible(page, `invite ${label}`);
          await screenshot(page, `invite-${label}`);
          await page.goto(`${open.url}/signup`);
          await page.getByLabel(/User name/).fill('lookroot');
          await page.getByLabel(/^Password \(/).fill('some password');
          await page.getByLabel('Password again').fill('some password');
          await page.getByRole('button', { name: 'Sign up' }).click();
          await expect.poll(() => page.getByRole('alert').isVisible()).toBe(true);
          await expectAccessible(page, `sign-up error ${label}`);
          await screenshot(page, `signup-error-${label}`);
          await page.goto(`${server.url}/invite/used-or-unknown`);
          await expectAccessible(page, `dead invite ${label}`);
          await screenshot(page, `invite-dead-${label}`);
          expect(errors).toEqual([]);
          await visitor.close();
        }
      }
    } finally {
      await open.close();
    }
  });
});
