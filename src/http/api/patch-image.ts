import { Type } from '@fastify/type-provider-typebox';
import type { Runtime } from '../../runtime.ts';
import { requireUser } from '../auth.ts';
import { AccessTokenQuery, errors, ImageId, security } from '../schemas.ts';
import type { GazoApp } from '../types.ts';

const Text = (description: string) => Type.Optional(Type.String({ description }));

const schema = {
  summary: 'Edit one of your images',
  description:
    'JSON or url-encoded form with any of `title`, `desc`, `alt_text`, `access_policy`, `metadata_is_public` ' +
    '(at least one). Absent fields stay as they are; an empty string clears one. Answers the image object.',
  tags: ['images'],
  security,
  consumes: ['application/json', 'application/x-www-form-urlencoded'],
  params: Type.Object({ image_id: ImageId }),
  querystring: Type.Object(AccessTokenQuery),
  body: Type.Object(
    {
      title: Text('"" clears it (null in the image object)'),
      desc: Text('"" clears it'),
      alt_text: Text('A text alternative for people who cannot see the image; "" clears it'),
      access_policy: Type.Optional(Type.Union([Type.Literal('anyone'), Type.Literal('only_me')])),
      metadata_is_public: Type.Optional(Type.Boolean()),
      access_token: Type.Optional(Type.String()),
    },
    // A misspelt field is an error, not an edit that silently did nothing.
    { additionalProperties: false },
  ),
  response: { 200: Type.Ref('Image'), ...errors(400, 401, 403, 404) },
};

export function patchImageRoute(app: GazoApp, rt: Runtime) {
  app.patch('/api/images/:image_id', { schema }, async (request) => {
    const user = await requireUser(rt.accounts, request, 'public');
    const { title, desc, alt_text, access_policy, metadata_is_public } = request.body;
    const row = await rt.images.edit(user, request.params.image_id, {
      title,
      desc,
      altText: alt_text,
      accessPolicy: access_policy,
      metadataIsPublic: metadata_is_public,
    });
    return rt.urls.toWire(row);
  });
}
