import { Type } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { Runtime } from '../../runtime.ts';
import { badRequest } from '../../services/errors.ts';
import type { UploadMeta } from '../../services/upload.service.ts';
import {
  optionalText,
  parseAccessPolicy,
  parseBoolean,
  parseCreatedAt,
} from '../../services/upload-fields.ts';
import { requireUser, tokenFrom } from '../auth.ts';
import { readUploadForm, refuseBeforeReading, refuseDeclaredOversize } from '../multipart.ts';
import { AccessTokenQuery, errors, security } from '../schemas.ts';
import type { GazoApp } from '../types.ts';

const schema = {
  summary: 'Upload an image',
  description:
    'multipart/form-data with `imagedata` and optional `access_token`, `metadata_is_public`, `referer_url`, ' +
    '`title`, `desc`, `app`, `created_at` (Unix seconds, float seconds or milliseconds), `access_policy`, ' +
    '`collection_id` (ignored). Parts may come in any order. Answers the whole image object.',
  tags: ['images'],
  security,
  consumes: ['multipart/form-data'],
  querystring: Type.Object(AccessTokenQuery),
  response: { 200: Type.Ref('Image'), ...errors(400, 401, 413, 422, 429, 507) },
};

export function uploadRoute(app: GazoApp, rt: Runtime) {
  const onRequest = refuseDeclaredOversize(rt.config.limits.maxUploadBytes);
  app.post('/api/upload', { schema, onRequest }, async (request) => {
    const ended = rt.uploads.activity.begin();
    try {
      return await handleUpload(request);
    } finally {
      ended();
    }
  });

  async function handleUpload(request: FastifyRequest) {
    // A token in the header or query is checked before the body is read, so that a stranger
    // cannot make us store a large upload; a token among the parts is checked after them.
    const maxUploadBytes = rt.config.limits.maxUploadBytes;
    const early = await refuseBeforeReading(
      request,
      maxUploadBytes,
      (bytes) => rt.uploads.assertRoomFor(bytes),
      async () => (tokenFrom(request) ? requireUser(rt.accounts, request, 'upload') : undefined),
    );
    const { fields, imagedata } = await readUploadForm(
      request,
      (stream, max) => rt.uploads.stage(stream, max),
      maxUploadBytes,
    );
    try {
      const user = early ?? (await requireUser(rt.accounts, request, 'upload', fields));
      if (!imagedata || imagedata.size === 0) throw badRequest('imagedata is required');
      const row = await rt.uploads.upload(user.userId, imagedata, uploadMeta(fields));
      return rt.urls.toWire(row);
    } finally {
      await imagedata?.discard();
    }
  }
}

function uploadMeta(fields: Record<string, string>): UploadMeta {
  return {
    createdAt: parseCreatedAt(fields.created_at),
    app: optionalText('app', fields.app),
    title: optionalText('title', fields.title),
    url: optionalText('referer_url', fields.referer_url),
    desc: optionalText('desc', fields.desc),
    metadataIsPublic: parseBoolean('metadata_is_public', fields.metadata_is_public),
    accessPolicy: parseAccessPolicy(fields.access_policy),
  };
}
