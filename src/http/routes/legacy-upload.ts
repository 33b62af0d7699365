import type { FastifyReply } from 'fastify';
import type { Runtime } from '../../runtime.ts';
import { badRequest, ServiceError } from '../../services/errors.ts';
import { optionalText, parseCreatedAt } from '../../services/upload-fields.ts';
import type { GazoApp } from '../app.ts';
import { deviceUser } from '../auth.ts';
import { setErrorHeaders } from '../errors.ts';
import { readUploadForm } from '../multipart.ts';

const schema = {
  summary: 'Legacy desktop-client upload',
  description:
    'multipart with `id` (a device id from `gazo device create`), `imagedata` and optional `metadata` ' +
    '(JSON `{app, title, url, note}`) and `created_at`. Answers the permalink as plain text, with ' +
    '`X-Gyazo-Id` echoing the device id.',
  tags: ['legacy'],
  consumes: ['multipart/form-data'],
};

const NO_DEVICE =
  'Unknown device id. Ask your Gazo administrator to run `gazo device create <user>` and put the id it prints in your client (~/.gyazo.id).\n';

interface LegacyMetadata {
  app?: unknown;
  title?: unknown;
  url?: unknown;
  note?: unknown;
}

function parseMetadata(raw: string | undefined): LegacyMetadata {
  if (raw === undefined || raw.trim() === '') return {};
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as LegacyMetadata;
  } catch {
    // fall through to the error below
  }
  throw badRequest('metadata must be a JSON object');
}

const text = (name: string, value: unknown) =>
  optionalText(name, typeof value === 'string' ? value : undefined);

/** The legacy protocol answers in plain text, errors included: its clients show the body as is. */
function plain(reply: FastifyReply, status: number, body: string) {
  return reply.code(status).type('text/plain; charset=utf-8').send(body);
}

export function legacyUploadRoute(app: GazoApp, rt: Runtime) {
  app.post('/upload.cgi', { schema }, async (request, reply) => {
    try {
      const { fields, imagedata } = await readUploadForm(request);
      const deviceId = fields.id ?? '';
      const user = deviceId ? await deviceUser(rt.accounts, request, deviceId) : undefined;
      if (!user) return plain(reply, 401, NO_DEVICE);
      if (!imagedata || imagedata.length === 0) throw badRequest('imagedata is required');
      const meta = parseMetadata(fields.metadata);
      const row = await rt.uploads.upload(user, {
        bytes: imagedata,
        createdAt: parseCreatedAt(fields.created_at),
        app: text('app', meta.app),
        title: text('title', meta.title),
        url: text('url', meta.url),
        desc: text('note', meta.note),
      });
      reply.header('X-Gyazo-Id', deviceId);
      return plain(reply, 200, rt.urls.permalink(row.image_id));
    } catch (err) {
      if (err instanceof ServiceError) {
        setErrorHeaders(reply, err);
        return plain(reply, err.status, `${err.message}\n`);
      }
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 413) return plain(reply, 413, 'Request body is too large\n');
      throw err;
    }
  });
}
