import { Type } from '@fastify/type-provider-typebox';
import type { Runtime } from '../../runtime.ts';
import { MAX_SEARCH_QUERY } from '../../services/images.service.ts';
import { requireUser } from '../auth.ts';
import { AccessTokenQuery, errors, security } from '../schemas.ts';
import type { GazoApp } from '../types.ts';
import { USER_TYPE } from './list-images.ts';

const PerPage = Type.Integer({ minimum: 1, maximum: 100 });

const schema = {
  summary: 'Search your images',
  description:
    'Gyazo\'s query language: words (all must appear in the title, description, app, URL, alt text or text of the image), "quoted phrases", title:, desc:, app:, url:, alt:, and since:/until:/date: with YYYY-MM-DD UTC days. Newest first.',
  tags: ['images'],
  security,
  querystring: Type.Object({
    ...AccessTokenQuery,
    query: Type.String({ minLength: 1, maxLength: MAX_SEARCH_QUERY }),
    page: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 }),
    per: Type.Optional(PerPage),
    per_page: Type.Optional(PerPage),
  }),
  response: { 200: Type.Array(Type.Ref('Image')), ...errors(400, 401) },
};

export function searchRoute(app: GazoApp, rt: Runtime) {
  app.get('/api/search', { schema }, async (request, reply) => {
    const user = await requireUser(rt.accounts, request, 'public');
    const { query, page } = request.query;
    const per = request.query.per ?? request.query.per_page ?? 20;
    const { rows, total, totalIsExact } = await rt.images.search(user, query, page, per);
    reply.headers({
      // Counting stops 1,000 matches past the page (SEARCH_COUNT_AHEAD): then a lower bound.
      'X-Total-Count': String(total),
      'X-Total-Count-Exact': String(totalIsExact),
      'X-Current-Page': String(page),
      'X-Per-Page': String(per),
      'X-User-Type': USER_TYPE,
    });
    return rows.map((row) => rt.urls.toWire(row));
  });
}
