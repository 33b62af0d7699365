import type { FastifyRequest } from 'fastify';
import { badRequest, ServiceError, tooLarge } from '../services/errors.ts';

export interface UploadForm {
  fields: Record<string, string>;
  /** The bytes of the `imagedata` part, file or plain field, whichever the client sent. */
  imagedata: Buffer | undefined;
}

/**
 * Reads a whole multipart body. Parts come in any order (the token may follow the image), so
 * nothing is decided until every part is in; the file is held in memory, bounded by the
 * multipart plugin's byte limit (413 past it). Filenames and part Content-Types mean nothing.
 */
export async function readUploadForm(request: FastifyRequest): Promise<UploadForm> {
  if (!request.isMultipart()) throw badRequest('Use multipart/form-data');
  const fields: Record<string, string> = {};
  let imagedata: Buffer | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        const bytes = await part.toBuffer();
        if (part.fieldname === 'imagedata') imagedata = bytes;
        continue;
      }
      if (part.valueTruncated) throw tooLarge(`Field ${part.fieldname} is too large`);
      if (typeof part.value !== 'string') continue;
      // Fields are parsed as latin1 (see app.ts) so their bytes survive: some scripts send the
      // image itself as a plain field. Text fields are UTF-8, decoded here.
      const bytes = Buffer.from(part.value, 'latin1');
      if (part.fieldname === 'imagedata') imagedata = bytes;
      else fields[part.fieldname] = bytes.toString('utf8');
    }
  } catch (err) {
    // The multipart parser throws plain Errors for a malformed body (no boundary, a bad part
    // header, a body cut short): the client's fault, not ours. Limits (413) keep their status.
    if (err instanceof ServiceError || (err as { statusCode?: number }).statusCode) throw err;
    throw badRequest('Malformed multipart/form-data body');
  }
  return { fields, imagedata };
}
