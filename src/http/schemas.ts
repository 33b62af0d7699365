import { Type } from '@fastify/type-provider-typebox';

/** Shapes shared by several routes; they validate input, serialise output and make the OpenAPI. */

export const ImageId = Type.String({ pattern: '^[0-9a-f]{32}$', description: '32 lowercase hex characters' });

export const WireImageSchema = Type.Object(
  {
    image_id: Type.String(),
    permalink_url: Type.String(),
    thumb_url: Type.String(),
    url: Type.String(),
    type: Type.String(),
    created_at: Type.String({ description: 'UTC, YYYY-MM-DDTHH:MM:SS+0000' }),
    metadata: Type.Object({
      app: Type.Union([Type.String(), Type.Null()]),
      title: Type.Union([Type.String(), Type.Null()]),
      url: Type.Union([Type.String(), Type.Null()]),
      desc: Type.String(),
    }),
    ocr: Type.Object({
      locale: Type.Union([Type.String(), Type.Null()]),
      description: Type.String(),
    }),
    access_policy: Type.Union([Type.Literal('anyone'), Type.Literal('only_me')]),
    alt_text: Type.String({
      description: 'A text alternative for people who cannot see the image; "" when none',
    }),
    exif_normalized: Type.Optional(
      Type.Object(
        { latitude: Type.Number(), longitude: Type.Number() },
        {
          description:
            "Where the photo was taken (its EXIF GPS); only in the owner's responses, absent when unknown",
        },
      ),
    ),
  },
  { $id: 'Image' },
);

/** `GET /api/users/me`. */
export const UserMeSchema = Type.Object({
  user: Type.Object({
    email: Type.String(),
    name: Type.String(),
    profile_image: Type.String(),
    uid: Type.String(),
  }),
});

/** `GET /api/oembed`. */
export const OembedSchema = Type.Object({
  version: Type.String(),
  type: Type.String(),
  provider_name: Type.String(),
  provider_url: Type.String(),
  url: Type.String(),
  width: Type.Integer(),
  height: Type.Integer(),
  title: Type.Optional(Type.String()),
});

export const ErrorSchema = Type.Object(
  {
    message: Type.String(),
    request: Type.String(),
    method: Type.String(),
  },
  { $id: 'Error' },
);

const errorRef = Type.Ref('Error');

/** Error responses a route documents, all in the Gyazo shape. */
export function errors(...codes: number[]) {
  return Object.fromEntries(codes.map((c) => [c, errorRef]));
}

export const AccessTokenQuery = {
  access_token: Type.Optional(Type.String({ description: 'Or send Authorization: Bearer <token>' })),
};

export const security: Array<Record<string, string[]>> = [{ bearer: [] }, { queryToken: [] }];
