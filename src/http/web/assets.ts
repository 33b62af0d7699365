import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Type } from '@fastify/type-provider-typebox';
import { sourceFile } from '../../source-files.ts';
import { sendError } from '../errors.ts';
import type { GazoApp } from '../types.ts';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The pages' scripts and styles: plain files in `src/http/web/assets/` (no bundling step), read
 * once at start. Pages link them as `/assets/<name>?v=<hash>`, so they can be cached for ever.
 */
const ASSETS_DIR = sourceFile('http/web/assets');

interface Asset {
  body: Buffer;
  type: string;
  version: string;
}

const ASSETS = new Map<string, Asset>();
for (const name of fs.readdirSync(ASSETS_DIR)) {
  const type = TYPES[path.extname(name)];
  if (!type) continue;
  const body = fs.readFileSync(path.join(ASSETS_DIR, name));
  ASSETS.set(name, { body, type, version: createHash('sha256').update(body).digest('hex').slice(0, 12) });
}

/** The URL of an asset, with its content hash (a page linking a missing asset is a bug: throw). */
export function assetUrl(name: string): string {
  const asset = ASSETS.get(name);
  if (!asset) throw new Error(`no web asset ${name}`);
  return `/assets/${name}?v=${asset.version}`;
}

export function assetRoutes(app: GazoApp) {
  app.get(
    '/assets/:name',
    {
      schema: {
        hide: true,
        params: Type.Object({ name: Type.String({ maxLength: 64 }) }),
        querystring: Type.Object({ v: Type.Optional(Type.String({ maxLength: 32 })) }),
      },
    },
    async (request, reply) => {
      const asset = ASSETS.get(request.params.name);
      if (!asset) return sendError(request, reply, 404, 'Not Found');
      const current = request.query.v === asset.version;
      reply.header('Cache-Control', current ? 'public, max-age=31536000, immutable' : 'no-cache');
      reply.header('ETag', `"${asset.version}"`);
      return reply.type(asset.type).send(asset.body);
    },
  );
}
