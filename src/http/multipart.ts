import type { Readable } from 'node:stream';
import { Busboy, type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { StagedFile } from '../blobs/staged-file.ts';
import { badRequest, tooLarge } from '../services/errors.ts';

export interface UploadForm {
  fields: Record<string, string>;
  /** The `imagedata` part, file or plain field, staged on disk. The caller discards it. */
  imagedata: StagedFile | undefined;
}

/** Stages a part's bytes on disk, refusing more than `maxBytes` (see UploadService.stage). */
export type Stager = (source: Readable, maxBytes: number) => Promise<StagedFile>;

/** Text fields are small: a title or a description, never the image. */
export const MAX_FIELD_BYTES = 32 * 1024;
const MAX_FIELDS = 20;
const MAX_PARTS = 30;
/** Room for the fields and part headers around the image in the whole request. */
export const FORM_OVERHEAD_BYTES = MAX_FIELDS * MAX_FIELD_BYTES + 64 * 1024;

/** The largest request body an upload route reads: the image limit plus the fields around it. */
export const maxBodyBytes = (maxUploadBytes: number) => maxUploadBytes + FORM_OVERHEAD_BYTES;

/**
 * Refuses from the headers alone a body declared larger than the route will ever read, so that
 * nobody can make us wait for (or read) gigabytes just to say no. Used as an `onRequest` hook.
 */
export function refuseDeclaredOversize(maxUploadBytes: number) {
  const limit = maxBodyBytes(maxUploadBytes);
  return (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    const declared = Number(request.headers['content-length']);
    if (declared > limit) return done(tooLarge(`Request body is too large: the limit is ${limit} bytes`));
    done();
  };
}

/**
 * Reads and throws away the body of a request refused before its form was read (a bad token,
 * a full disk), so that the client, still sending, gets to read the answer: many clients
 * (fetch among them) report a broken pipe instead of a response the server sent early. At most
 * `maxBodyBytes(maxUploadBytes)` are read; past that the connection is closed instead.
 */
export function discardBody(request: FastifyRequest, maxUploadBytes: number): Promise<void> {
  const raw = request.raw;
  if (raw.complete || raw.readableEnded) return Promise.resolve();
  const limit = maxBodyBytes(maxUploadBytes);
  return new Promise((resolve) => {
    let received = 0;
    const done = () => {
      raw.off('data', count);
      resolve();
    };
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) done();
    };
    raw.on('data', count);
    raw.once('end', done);
    raw.once('error', done);
    raw.once('close', done);
  });
}

/**
 * The checks every upload route makes before it reads a body: the client address has not used
 * up its failed authentications, `checks` (a token in the header, say) pass, and the disk has
 * room for the declared length. If one refuses, the body is discarded first.
 */
export async function refuseBeforeReading<T>(
  request: FastifyRequest,
  maxUploadBytes: number,
  assertRoomFor: (bytes: number) => Promise<void>,
  checks: () => Promise<T>,
): Promise<T> {
  try {
    await request.server.authLimits.beforeCheck(request);
    const result = await checks();
    await assertRoomFor(Number(request.headers['content-length']) || 0);
    return result;
  } catch (err) {
    await discardBody(request, maxUploadBytes);
    throw err;
  }
}

/**
 * Reads a multipart body as it arrives. `imagedata` (a file part, or a plain field: some scripts
 * send it so) streams to a staged file through `stage`; other files are skipped; text fields
 * are small and few. Parts come in any order, so the caller decides only once every part is in.
 * The whole body is bounded: past the limit reading stops and the request fails with 413.
 * Whatever went wrong, nothing staged is left behind.
 */
export async function readUploadForm(
  request: FastifyRequest,
  stage: Stager,
  maxUploadBytes: number,
  /** Called as `imagedata` begins, with the fields before it; a throw refuses the form unstaged. */
  beforeImage?: (fields: Record<string, string>) => void,
  /** The part that streams to `stage` (easy_auth's is `image_url`). */
  options: { fileField?: string } = {},
): Promise<UploadForm> {
  const fileField = options.fileField ?? 'imagedata';
  if (!/^multipart\/form-data\b/i.test(request.headers['content-type'] ?? ''))
    throw badRequest('Use multipart/form-data');
  const raw = request.raw;
  const bodyLimit = maxBodyBytes(maxUploadBytes);
  const fields: Record<string, string> = {};
  let staging: Promise<StagedFile> | undefined;
  let imageStream: Readable | undefined;
  let busboy: BusboyInstance;
  try {
    busboy = Busboy({
      headers: request.headers as BusboyHeaders,
      defCharset: 'utf8',
      isPartAFile: (name, _type, filename) => name === fileField || filename !== undefined,
      limits: {
        fieldNameSize: 100,
        fieldSize: MAX_FIELD_BYTES,
        fields: MAX_FIELDS,
        files: 4,
        parts: MAX_PARTS,
        fileSize: maxUploadBytes,
      },
    });
  } catch {
    throw badRequest('Malformed multipart/form-data body: no boundary');
  }

  const parsed = new Promise<void>((resolve, reject) => {
    let received = 0;
    const fail = (err: Error) => {
      raw.unpipe(busboy);
      raw.off('data', count);
      // Ends the staging write too, which removes its partial file.
      imageStream?.destroy(err);
      reject(err);
    };
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received > bodyLimit) fail(tooLarge(`Request body is too large: the limit is ${bodyLimit} bytes`));
    };
    raw.on('data', count);
    raw.on('aborted', () => fail(badRequest('The request was cut off before its end')));
    raw.on('error', () => fail(badRequest('The request was cut off before its end')));

    busboy.on('file', (name, stream) => {
      if (name !== fileField || staging) {
        stream.resume();
        return;
      }
      imageStream = stream;
      // The parser reports a broken part on the part too, possibly after staging let go of it:
      // the same failure reaches us through busboy's own 'error', so this one is only absorbed.
      stream.on('error', () => undefined);
      try {
        beforeImage?.(fields);
      } catch (err) {
        return fail(err as Error);
      }
      stream.on('limit', () =>
        fail(tooLarge(`${fileField} is too large: the limit is ${maxUploadBytes} bytes`)),
      );
      staging = stage(stream, maxUploadBytes);
      // Its failure is reported through `parsed` or awaited below; never unhandled.
      staging.catch(fail);
    });
    busboy.on('field', (name, value, _nameTruncated, valueTruncated) => {
      if (valueTruncated)
        return fail(tooLarge(`Field ${name} is too large: at most ${MAX_FIELD_BYTES} bytes`));
      fields[name] = value;
    });
    busboy.on('partsLimit', () => fail(tooLarge(`Too many parts in the form: at most ${MAX_PARTS}`)));
    busboy.on('fieldsLimit', () => fail(tooLarge(`Too many fields in the form: at most ${MAX_FIELDS}`)));
    busboy.on('filesLimit', () => fail(tooLarge('Too many files in the form')));
    // The parser throws plain Errors for a malformed body (a bad part header, a body cut short).
    busboy.on('error', () => fail(badRequest('Malformed multipart/form-data body')));
    busboy.on('finish', () => resolve());
    raw.pipe(busboy);
  });

  try {
    await parsed;
    const imagedata = await staging;
    return { fields, imagedata };
  } catch (err) {
    // The staged file, if one was begun, is removed before the error is answered.
    await staging?.then((file) => file.discard()).catch(() => undefined);
    throw err;
  }
}
