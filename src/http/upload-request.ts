import type { FastifyRequest } from 'fastify';
import type { StagedFile } from '../blobs/staged-file.ts';
import type { Runtime } from '../runtime.ts';
import { badRequest } from '../services/errors.ts';
import type { UploadMeta } from '../services/upload.service.ts';
import { optionalText, parseAccessPolicy, parseBoolean, parseCreatedAt } from '../services/upload-fields.ts';
import type { ImageRow } from '../store/schema.ts';
import { discardBody, readUploadForm, refuseBeforeReading } from './multipart.ts';

/** What an upload route checks while the body arrives; each step may throw to refuse. */
export interface UploadFormGate<Early> {
  /** Before a byte of the body is read: a token in the header, a session, a CSRF header. */
  beforeReading: () => Promise<Early>;
  /** When the `imagedata` part begins, with the fields sent before it: nothing is staged yet. */
  beforeImage?: (fields: Record<string, string>) => void;
}

/** How an upload route tells who is uploading. */
export interface UploadGate<Early> extends UploadFormGate<Early> {
  /** Once every part is in: the owner's user id. */
  owner: (early: Early, fields: Record<string, string>) => Promise<number>;
}

export interface UploadForm {
  fields: Record<string, string>;
  imagedata?: StagedFile;
}

/**
 * A Gyazo-style multipart upload (`imagedata` and the metadata fields), streamed to disk as it
 * arrives, for every upload route: the pre-body checks, the bounded read, then `handle` with the
 * fields and the staged file, which never outlives the request. The upload counts as running
 * (background decodes give way) until `handle` is done.
 */
export async function withUploadForm<Early, T>(
  rt: Runtime,
  request: FastifyRequest,
  gate: UploadFormGate<Early>,
  handle: (early: Early, form: UploadForm) => Promise<T>,
): Promise<T> {
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
    const form = await readUploadForm(
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
      return await handle(early, form);
    } finally {
      await form.imagedata?.discard();
    }
  } finally {
    ended();
  }
}

/** The API's and the web's upload: `withUploadForm`, the owner's check, then the stored row. */
export function receiveUpload<Early>(
  rt: Runtime,
  request: FastifyRequest,
  gate: UploadGate<Early>,
): Promise<ImageRow> {
  return withUploadForm(rt, request, gate, async (early, { fields, imagedata }) => {
    const owner = await gate.owner(early, fields);
    if (!imagedata || imagedata.size === 0) throw badRequest('imagedata is required');
    return rt.uploads.upload(owner, imagedata, uploadMeta(fields));
  });
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
