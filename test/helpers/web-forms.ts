/** Posting the web group's forms from Node, as a browser would: with its cookies and CSRF token. */
export const cookiesOf = (res: Response) => res.headers.getSetCookie().map((c) => c.split(';')[0] as string);

export class FormClient {
  cookies: string[] = [];
  constructor(readonly baseUrl: string) {}

  private keep(res: Response) {
    for (const set of cookiesOf(res)) {
      const name = set.split('=')[0];
      this.cookies = this.cookies.filter((c) => c.split('=')[0] !== name);
      if (!set.endsWith('=')) this.cookies.push(set);
    }
  }

  async get(path: string): Promise<{ status: number; html: string; csrf: string }> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      redirect: 'manual',
      headers: { cookie: this.cookies.join('; ') },
    });
    this.keep(res);
    const html = await res.text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    return { status: res.status, html, csrf };
  }

  /** Posts `fields`; `csrf` undefined takes a token from `from` (a page fetched first), '' sends none. */
  async post(path: string, fields: Record<string, string>, csrf?: string, from = '/') {
    const token = csrf ?? (await this.get(from)).csrf;
    const res = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: this.cookies.join('; ') },
      body: new URLSearchParams({ ...fields, ...(token ? { _csrf: token } : {}) }).toString(),
    });
    this.keep(res);
    return { status: res.status, location: res.headers.get('location'), html: await res.text(), res };
  }

  /** Posts the sign-up form, fetched first for its CSRF token; `repeat` is the second password field. */
  signUp(name: string, password: string, repeat = password) {
    return this.post('/signup', { name, password, repeat }, undefined, '/signup');
  }

  async signIn(name: string, password: string): Promise<this> {
    const res = await this.post('/signin', { name, password }, undefined, '/signin');
    if (res.status !== 303) throw new Error(`sign-in of ${name} answered ${res.status}`);
    return this;
  }
}
