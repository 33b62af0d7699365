import { pipeline, type Readable } from 'node:stream';
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Runtime } from '../../runtime.ts';
import { dataUriDecoder } from '../../services/data-uri.ts';
import { decodeRefererUrl } from '../../services/easy-auth.service.ts';
import { badRequest, tooLarge } from '../../services/errors.ts';
import { optionalText, parseBoolean } from '../../services/upload-fields.ts';
import { maxBodyBytes, readUploadForm, refuseBeforeReading, type UploadForm } from '../multipart.ts';
import { errors } from '../schemas.ts';
import type { GazoApp } from '../types.ts';
import { readUrlEncodedForm } from '../urlencoded.ts';
import { credentialedPreflight } from './cors.ts';

const URL = '/api/upload/easy_auth';

const schema = {
  summary: 'Upload for whoever opens the answer’s link in a browser (easy_auth)',
  description:
    'multipart/form-data or url-encoded with `client_id` (an application’s public id), `image_url` (a ' +
    '`data:image/…;base64,…` URI, or bare base64; URLs are refused), and optional `referer_url`, `title`, ' +
    '`desc`, `metadata_is_public`. Answers `get_image_url`: opened within 30 s in a browser, it gives the ' +
    'image to the signed-in user (after a sign-in if need be) and redirects to its permalink. Unclaimed, ' +
    'the image is deleted. Callable cross-origin with credentials.',
  tags: ['images'],
  consumes: ['multipart/form-data', 'application/x-www-form-urlencoded'],
  response: {
    200: Type.Object({
      get_image_url: Type.String({ format: 'uri' }),
      expires_at: Type.Integer({ description: 'Unix seconds' }),
    }),
    ...errors(400, 401, 413, 422, 429, 507),
  },
};

/** base64 is 4 bytes for every 3: the largest `image_url` that can hold the largest upload. */
const encodedSize = (bytes: number) => Math.ceil(bytes / 3) * 4 + 1024;

/**
 * `POST /api/upload/easy_auth`, in a scope of its own: its url-encoded bodies are read as they
 * stream (a data URI is the whole image, base64), not parsed whole by the API's form parser.
 * CORS: the caller's origin echoed, with credentials (browsers call it from any site).
 */
export async function easyAuthRoutes(app: GazoApp, rt: Runtime) {
  app.removeContentTypeParser('application/x-www-form-urlencoded');
  app.addContentTypeParser('application/x-www-form-urlencoded', (_request, _payload, done) => done(null));
  credentialedPreflight(app, URL);

  const maxUploadBytes = rt.config.limits.maxUploadBytes;
  const maxImageUrl = encodedSize(maxUploadBytes);
  const onRequest = (request: FastifyRequest, _reply: unknown, done: (err?: Error) => void) => {
    const declared = Number(request.headers['content-length']);
    const limit = maxBodyBytes(maxImageUrl);
    if (declared > limit) return done(tooLarge(`Request body is too large: the limit is ${limit} bytes`));
    done();
  };

  app.post(URL, { schema, onRequest, config: { cors: 'credentialed' } }, async (request) => {
    const ended = rt.uploads.activity.begin();
    let form: UploadForm | undefined;
    try {
      await refuseBeforeReading(
        request,
        maxImageUrl,
        (bytes) => rt.uploads.assertRoomFor(Math.ceil((bytes * 3) / 4)),
        async () => undefined,
      );
      form = await readForm(request, maxImageUrl, (stream) =>
        // The decoded image is held to the upload limit; pipeline passes a failure either way.
        rt.uploads.stage(
          pipeline(stream, dataUriDecoder(), () => undefined),
          maxUploadBytes,
        ),
      );
      const { fields, imagedata } = form;
      try {
        await rt.easyAuth.requireApp(fields.client_id);
      } catch (err) {
        await request.server.authLimits.failed(request);
        throw err;
      }
      if (!imagedata) throw badRequest('image_url is required');
      if (imagedata.size === 0) throw badRequest('image_url holds no image');
      const meta = {
        title: optionalText('title', fields.title),
        desc: optionalText('desc', fields.desc),
        url: optionalText('referer_url', decodeRefererUrl(fields.referer_url)),
        metadataIsPublic: parseBoolean('metadata_is_public', fields.metadata_is_public),
      };
      const { token, expiresAt } = await rt.easyAuth.start(imagedata, fields.client_id as string, meta);
      return {
        get_image_url: `${rt.config.urls.web}/api/upload/${token}`,
        expires_at: Math.floor(expiresAt / 1000),
      };
    } finally {
      await form?.imagedata?.discard();
      ended();
    }
  });
}

function readForm(
  request: FastifyRequest,
  maxImageUrl: number,
  stage: (stream: Readable) => ReturnType<Runtime['uploads']['stage']>,
): Promise<UploadForm> {
  const type = request.headers['content-type'] ?? '';
  if (/^application\/x-www-form-urlencoded\b/i.test(type)) {
    return readUrlEncodedForm(request, stage, maxImageUrl, 'image_url');
  }
  if (/^multipart\/form-data\b/i.test(type)) {
    return readUploadForm(request, stage, maxImageUrl, undefined, { fileField: 'image_url' });
  }
  throw badRequest('Use application/x-www-form-urlencoded or multipart/form-data');
}
