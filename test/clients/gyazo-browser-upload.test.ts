import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonOf } from '../helpers/api.ts';
import { solidPng } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { signedInCookie } from '../helpers/web-session.ts';

const require = createRequire(import.meta.url);
/** The npm package as published (it uses superagent 3): `(dataUrl, {clientId, reqUrl, referer, title})`. */
const gyazoBrowserUpload = require('gyazo-browser-upload') as (
  dataUrl: string,
  options: { clientId: string; reqUrl?: string; referer?: string; title?: string },
) => Promise<{ url: string; imageId: string }>;
/** The superagent the package itself loads (the same module instance). */
const superagent = createRequire(require.resolve('gyazo-browser-upload'))('superagent') as {
  Request: { prototype: { withCredentials(this: SuperagentRequest): SuperagentRequest } };
};
interface SuperagentRequest {
  url: string;
  set(name: string, value: string): SuperagentRequest;
}

describe('the npm gyazo-browser-upload package against Gazo', () => {
  let server: TestServer;
  let restore: () => void;
  let clientId: string;

  beforeAll(async () => {
    server = await startServer();
    // An application registered as on the Applications page: its public client_id is what the page sends.
    const owner = await server.user();
    ({ client_id: clientId } = (
      await server.rt.oauth.createApp(owner.id, 'My blog', ['https://blog.example.com/cb'])
    ).app);
  });
  afterAll(async () => {
    restore?.();
    await server?.close();
  });

  it('uploads a data URL and finds the image id on the permalink the claim link redirects to', async () => {
    const user = await server.user();
    // In a browser, withCredentials() makes the browser send its cookies; Node has no cookie
    // jar, so here it sends the session cookie of the signed-in user, to Gazo only.
    const cookie = await signedInCookie(server, user.name, user.password);
    const proto = superagent.Request.prototype;
    const original = proto.withCredentials;
    proto.withCredentials = function (this: SuperagentRequest) {
      if (this.url.startsWith(server.url)) this.set('Cookie', cookie);
      return original.call(this);
    };
    restore = () => {
      proto.withCredentials = original;
    };

    const png = await solidPng(30, 20, '#5a2d82');
    const result = await gyazoBrowserUpload(`data:image/png;base64,${png.toString('base64')}`, {
      clientId,
      reqUrl: `${server.url}/api/upload/easy_auth`,
      referer: encodeURIComponent('https://blog.example.com/post?id=7'),
      title: 'Sent by gyazo-browser-upload',
    });
    expect(result.url).toBe(`${server.config.urls.web}/${result.imageId}`);
    const image = await jsonOf(
      await fetch(`${server.url}/api/images/${result.imageId}?access_token=${user.token}`),
    );
    expect(image.metadata).toMatchObject({
      title: 'Sent by gyazo-browser-upload',
      url: 'https://blog.example.com/post?id=7',
    });
  });
});
