import { PassThrough } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { StagedFile } from '../blobs/staged-file.ts';
import { badRequest, tooLarge } from '../services/errors.ts';
import { MAX_FIELD_BYTES, maxBodyBytes, type Stager, type UploadForm } from './multipart.ts';

const MAX_FIELDS = 20;
const MAX_NAME_BYTES = 100;

const hex = (c: number) =>
  c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 70 ? c - 55 : c >= 97 && c <= 102 ? c - 87 : -1;

/**
 * Percent-decoding (and `+` as a space) that may be fed a value in pieces: a `%XX` split between
 * two chunks is finished with the next one.
 */
class PercentDecoder {
  private pending = '';

  feed(bytes: Buffer): Buffer {
    const input = this.pending ? Buffer.concat([Buffer.from(this.pending, 'latin1'), bytes]) : bytes;
    this.pending = '';
    const out = Buffer.allocUnsafe(input.length);
    let n = 0;
    for (let i = 0; i < input.length; i++) {
      const c = input[i] as number;
      if (c === 0x2b) out[n++] = 0x20;
      else if (c !== 0x25) out[n++] = c;
      else if (i + 2 >= input.length) {
        this.pending = input.subarray(i).toString('latin1');
        break;
      } else {
        const hi = hex(input[i + 1] as number);
        const lo = hex(input[i + 2] as number);
        if (hi < 0 || lo < 0) throw badRequest('Malformed url-encoded body: a bad %-escape');
        out[n++] = hi * 16 + lo;
        i += 2;
      }
    }
    return out.subarray(0, n);
  }

  end(): void {
    if (this.pending) throw badRequest('Malformed url-encoded body: it ends inside a %-escape');
  }
}

/**
 * Reads an `application/x-www-form-urlencoded` body as it arrives, as readUploadForm reads a
 * multipart one: the value of `fileField` (megabytes: easy_auth's data URI) streams, percent-decoded,
 * through `stage`; the other fields are small and few. The body is bounded by
 * `maxBodyBytes(maxFileBytes)`; whatever went wrong, nothing staged is left behind.
 */
export async function readUrlEncodedForm(
  request: FastifyRequest,
  stage: Stager,
  maxFileBytes: number,
  fileField: string,
): Promise<UploadForm> {
  const raw = request.raw;
  const bodyLimit = maxBodyBytes(maxFileBytes);
  const fields: Record<string, string> = {};
  let staging: Promise<StagedFile> | undefined;
  let fileStream: PassThrough | undefined;
  let decoder = new PercentDecoder();
  let name: Buffer[] = [];
  let nameBytes = 0;
  let value: Buffer[] = [];
  let valueBytes = 0;
  let inValue = false;
  let received = 0;
  let count = 0;

  const endPair = () => {
    decoder.end();
    const key = Buffer.concat(name).toString('utf8');
    if (fileStream) fileStream.end();
    else if (inValue || key !== '') {
      if (++count > MAX_FIELDS) throw tooLarge(`Too many fields in the form: at most ${MAX_FIELDS}`);
      fields[key] = Buffer.concat(value).toString('utf8');
    }
    fileStream = undefined;
    decoder = new PercentDecoder();
    name = [];
    nameBytes = 0;
    value = [];
    valueBytes = 0;
    inValue = false;
  };

  const startValue = (failed: (err: unknown) => void) => {
    inValue = true;
    decoder.end();
    decoder = new PercentDecoder();
    if (Buffer.concat(name).toString('utf8') === fileField && !staging) {
      fileStream = new PassThrough();
      staging = stage(fileStream, maxFileBytes);
      // A staging failure (413, a bad data URI) stops the read at once; never unhandled.
      staging.catch(failed);
    }
  };

  const take = (piece: Buffer) => {
    if (piece.length === 0) return;
    const decoded = decoder.feed(piece);
    if (!inValue) {
      nameBytes += decoded.length;
      if (nameBytes > MAX_NAME_BYTES) throw badRequest('A field name in the form is too long');
      name.push(decoded);
    } else if (fileStream) {
      fileStream.write(decoded);
    } else {
      valueBytes += decoded.length;
      if (valueBytes > MAX_FIELD_BYTES)
        throw tooLarge(
          `Field ${Buffer.concat(name).toString('utf8')} is too large: at most ${MAX_FIELD_BYTES} bytes`,
        );
      value.push(decoded);
    }
  };

  const read = () =>
    new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        raw.off('data', onData);
        raw.off('end', onEnd);
        raw.off('aborted', onCut);
        raw.off('error', onCut);
        if (err) {
          // Whatever still arrives is read and thrown away, so that the client gets the answer.
          raw.resume();
          reject(err);
        } else resolve();
      };
      const onData = (chunk: Buffer) => {
        try {
          received += chunk.length;
          if (received > bodyLimit)
            throw tooLarge(`Request body is too large: the limit is ${bodyLimit} bytes`);
          let start = 0;
          for (let i = 0; i < chunk.length; i++) {
            const c = chunk[i];
            if (c === 0x26) {
              take(chunk.subarray(start, i));
              endPair();
              start = i + 1;
            } else if (c === 0x3d && !inValue) {
              take(chunk.subarray(start, i));
              startValue(finish);
              start = i + 1;
            }
          }
          take(chunk.subarray(start));
          // The staging write sets the pace: the body is never held in memory.
          if (fileStream?.writableNeedDrain) {
            raw.pause();
            fileStream.once('drain', () => raw.resume());
          }
        } catch (err) {
          finish(err);
        }
      };
      const onEnd = () => {
        try {
          endPair();
          finish();
        } catch (err) {
          finish(err);
        }
      };
      const onCut = () => finish(badRequest('The request was cut off before its end'));
      raw.on('data', onData);
      raw.once('end', onEnd);
      raw.once('aborted', onCut);
      raw.once('error', onCut);
    });

  try {
    await read();
    const imagedata = await staging;
    return { fields, imagedata };
  } catch (err) {
    fileStream?.destroy();
    await staging?.then((file) => file.discard()).catch(() => undefined);
    throw err;
  }
}
