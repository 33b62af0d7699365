import type { FastifyRequest } from 'fastify';
import type { Runtime } from '../runtime.ts';
import { badRequest } from '../services/errors.ts';
import type { UploadMeta } from '../services/upload.service.ts';
import { optionalText, parseAccessPolicy, parseBoolean, parseCreatedAt } from '../services/upload-fields.ts';
import type { ImageRow } from '../store/schema.ts';
import { discardBody, readUploadForm, refuseBeforeReading } from './multipart.ts';

/** How an upload route tells who is uploading; each step may throw to refuse. */
export interface UploadGate<Early> {
  /** Before a byte of the body is read: a token in the header, a session, a CSRF header. */
  beforeReading: () => Promise<Early>;
  /** When the `imagedata` part begins, with the fields sent before it: nothing is staged yet. */
  beforeImage?: (fields: Record<string, string>) => void;
  /** Once every part is in: the owner's user id. */
  owner: (early: Early, fields: Record<string, string>) => Promise<number>;
}

/**
 * The Gyazo-style multipart upload (`imagedata` and the metadata fields), streamed to disk as it
 * arrives, shared by the API and the web upload: the pre-body checks, the bounded read, the
 * owner's check, then the stored row. The staged file never outlives the request.
 */
export async function receiveUpload<Early>(
  rt: Runtime,
  request: FastifyRequest,
  gate: UploadGate<Early>,
): Promise<ImageRow> {
  const ended = rt.uploads.activity.begin();
  try {
    const maxUploadBytes = rt.config.limits.maxUploadBytes;
    const early = await refuseBeforeReading(
      request,
      maxUploadBytes,
      (bytes) => rt.uploads.assertRoomFor(bytes),
      gate.beforeReading,
    );
    let refusedAtImage: unknown;
    const beforeImage = gate.beforeImage;
    const { fields, imagedata } = await readUploadForm(
      request,
      (stream, max) => rt.uploads.stage(stream, max),
      maxUploadBytes,
      beforeImage &&
        ((sent) => {
          try {
            beforeImage(sent);
          } catch (err) {
            refusedAtImage = err;
            throw err;
          }
        }),
    ).catch(async (err) => {
      // Refused mid-body: read the rest (bounded) so the client gets to see the answer.
      if (err === refusedAtImage) await discardBody(request, maxUploadBytes);
      throw err;
    });
    try {
      const owner = await gate.owner(early, fields);
      if (!imagedata || imagedata.size === 0) throw badRequest('imagedata is required');
      return await rt.uploads.upload(owner, imagedata, uploadMeta(fields));
    } finally {
      await imagedata?.discard();
    }
  } finally {
    ended();
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
