import { type Static, Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../../runtime.ts';
import type { Principal } from '../../services/principal.ts';
import { keptUser, requireUser } from '../auth.ts';
import { ListPageCache } from '../list-page-cache.ts';
import { AccessTokenQuery, errors, security } from '../schemas.ts';
import type { GazoApp } from '../types.ts';

export const USER_TYPE = 'ninja';

const ListQuery = Type.Object({
  ...AccessTokenQuery,
  page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
  per_page: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
});
type ListQuery = Static<typeof ListQuery>;

const schema = {
  summary: "List the user's images, newest first",
  tags: ['images'],
  security,
  querystring: ListQuery,
  response: { 200: Type.Array(Type.Ref('Image')), ...errors(400, 401) },
};

export function listImagesRoute(app: GazoApp, rt: Runtime) {
  const cache = new ListPageCache();
  const keyOf = (user: Principal, { page, per_page }: ListQuery) =>
    ListPageCache.key(user.userId, user.imagesVersion, page, per_page);

  function send(reply: FastifyReply, user: Principal, { page, per_page }: ListQuery, body: Buffer) {
    reply.headers({
      'x-total-count': String(user.imageCount),
      'x-current-page': String(page),
      'x-per-page': String(per_page),
      'x-user-type': USER_TYPE,
    });
    // Already JSON: sent as it is, not serialised again.
    reply.type('application/json; charset=utf-8').send(body as never);
  }

  /** `kept`: the user keptUser found already, so that the token is not checked twice. */
  async function listPage(
    request: FastifyRequest<{ Querystring: ListQuery }>,
    reply: FastifyReply,
    kept: Principal | undefined,
  ) {
    const user = kept ?? (await requireUser(rt.accounts, request, 'public'));
    const key = keyOf(user, request.query);
    let body = cache.get(key);
    if (body === undefined) {
      // Encoded once, here: given the string, Fastify would measure its UTF-8 length and the
      // socket write encode it again.
      body = Buffer.from(await rt.listing.pageJson(user, request.query.page, request.query.per_page));
      if (cache.admit(key)) cache.set(key, body);
    }
    send(reply, user, request.query, body);
    return reply;
  }

  app.get('/api/images', { schema }, (request, reply) => {
    // A client polling a page it has read before, with a token in memory: answered at once, with
    // no promise (a tenth of such a request's CPU went to the promises of the path below).
    const user = keptUser(rt.accounts, request, 'public');
    const body = user && cache.get(keyOf(user, request.query));
    if (user && body) return void send(reply, user, request.query, body);
    return listPage(request, reply, user);
  });
}
