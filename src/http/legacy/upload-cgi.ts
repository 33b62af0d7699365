import type { FastifyReply } from 'fastify';
import type { Runtime } from '../../runtime.ts';
import { badRequest, ServiceError } from '../../services/errors.ts';
import { optionalText, parseCreatedAt } from '../../services/upload-fields.ts';
import { deviceUser } from '../auth.ts';
import { closeAfterAnswer, setErrorHeaders } from '../errors.ts';
import { refuseDeclaredOversize } from '../multipart.ts';
import type { GazoApp } from '../types.ts';
import { withUploadForm } from '../upload-request.ts';

const schema = {
  summary: 'Legacy desktop-client upload',
  description:
    'multipart with `id` (a device id from `gazo device create` or the Devices page), `imagedata` and optional ' +
    '`metadata` (JSON `{app, title, url, note}`) and `created_at`. Answers the permalink as plain text, with ' +
    '`X-Gyazo-Id` echoing the device id. With --legacy-anonymous-devices, an empty `id` makes a device ' +
    '(`X-Gyazo-Id`) whose uploads wait, unlisted, until `<permalink>?token=<X-Gyazo-Session-Token>` is ' +
    'opened by a signed-in browser that links the device.',
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
  closeAfterAnswer(reply.request, reply);
  return reply.code(status).type('text/plain; charset=utf-8').send(body);
}

/** What the route answers, sent once the staged upload is gone (see withUploadForm). */
interface LegacyAnswer {
  status: number;
  body: string;
  headers?: { 'X-Gyazo-Id': string; 'X-Gyazo-Session-Token'?: string };
}

export function legacyUploadRoute(app: GazoApp, rt: Runtime) {
  const onRequest = refuseDeclaredOversize(rt.config.limits.maxUploadBytes);
  app.post('/upload.cgi', { schema, onRequest }, async (request, reply) => {
    try {
      // The device id is in the body: only the address and the disk can be checked first.
      const answer: LegacyAnswer = await withUploadForm(
        rt,
        request,
        { beforeReading: async () => undefined },
        async (_, form) => {
          const { fields, imagedata } = form;
          const deviceId = fields.id ?? '';
          const user = deviceId ? await deviceUser(rt.accounts, request, deviceId) : undefined;
          if (!user && !rt.devices.anonymousEnabled) return { status: 401, body: NO_DEVICE };
          if (!imagedata || imagedata.size === 0) throw badRequest('imagedata is required');
          const legacy = parseMetadata(fields.metadata);
          const meta = {
            createdAt: parseCreatedAt(fields.created_at),
            app: text('app', legacy.app),
            title: text('title', legacy.title),
            url: text('url', legacy.url),
            desc: text('note', legacy.note),
          };
          if (!user) {
            // --legacy-anonymous-devices: held for nobody until the person links the device from
            // the browser the client opens (the permalink with `?token=`).
            const held = await rt.devices.uploadAnonymous(deviceId, request.ip, imagedata, meta);
            return {
              status: 200,
              body: rt.urls.permalink(held.imageId),
              headers: { 'X-Gyazo-Id': held.deviceId, 'X-Gyazo-Session-Token': held.token },
            };
          }
          const row = await rt.uploads.upload(user.userId, imagedata, meta);
          return { status: 200, body: rt.urls.permalink(row.image_id), headers: { 'X-Gyazo-Id': deviceId } };
        },
      );
      return plain(reply.headers(answer.headers ?? {}), answer.status, answer.body);
    } catch (err) {
      if (err instanceof ServiceError) {
        setErrorHeaders(reply, err);
        return plain(reply, err.status, `${err.message}\n`);
      }
      throw err;
    }
  });
}
