import { Transform, type TransformCallback } from 'node:stream';
import { badRequest } from './errors.ts';

/** The longest `data:<media type>;<params>;base64,` header looked at before the base64 begins. */
const MAX_HEAD = 512;
/** A URL scheme (`http:`, `https:`, `file:`, …): base64 never holds a colon. */
const SCHEME = /^\s*[a-z][a-z0-9+.-]*:/i;
const PLAIN = /^[A-Za-z0-9+/]*$/;

export const NOT_A_DATA_URI =
  'image_url must be a data: URI (data:image/png;base64,…) or bare base64; Gazo does not fetch URLs';

/**
 * Decodes easy_auth's `image_url` as it streams: a `data:<type>;base64,<data>` URI, or bare
 * base64 (some clients send that). Anything with a URL scheme is refused: fetching a URL named
 * by a caller would let them make the server reach its own network (SSRF). The media type in
 * the URI is ignored (the type is read from the bytes); base64url letters, line breaks and a
 * space where a form encoder lost a `+` are tolerated. Only a few bytes are held at a time.
 */
export function dataUriDecoder(): Transform {
  let head: Buffer | undefined = Buffer.alloc(0);
  /** Base64 letters not yet decoded (fewer than four, between chunks). */
  let carry = '';
  let ended = false;

  const decode = (text: string, push: (b: Buffer) => void) => {
    // Nearly always the whole chunk is plain base64 letters: no need to look at each.
    const plain = !ended && PLAIN.test(text);
    let clean = plain ? text : '';
    for (let i = 0; !plain && i < text.length; i++) {
      const c = text.charCodeAt(i);
      const ch = text[i] as string;
      if (ch === '\r' || ch === '\n' || ch === '\t') continue;
      if (ended) {
        if (ch !== '=') throw badRequest('image_url is not valid base64: data after its padding');
        continue;
      }
      if (ch === '=') {
        ended = true;
        continue;
      }
      const isLetter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
      if (isLetter || ch === '+' || ch === '/') clean += ch;
      else if (ch === '-') clean += '+';
      else if (ch === '_') clean += '/';
      else if (ch === ' ') clean += '+';
      else throw badRequest('image_url is not valid base64');
    }
    const all = carry + clean;
    const whole = all.length - (all.length % 4);
    carry = all.slice(whole);
    if (whole > 0) push(Buffer.from(all.slice(0, whole), 'base64'));
  };

  /** Decides, from the first bytes, what the value is; returns the base64 that follows. */
  const begin = (bytes: Buffer, final: boolean): string | undefined => {
    const text = bytes.toString('latin1');
    const comma = text.indexOf(',');
    if (comma < 0 && bytes.length < MAX_HEAD && !final) return undefined;
    if (/^\s*data:/i.test(text)) {
      if (comma < 0) throw badRequest(NOT_A_DATA_URI);
      const params = text.slice(text.indexOf(':') + 1, comma).split(';');
      if (params.at(-1)?.trim().toLowerCase() !== 'base64') {
        throw badRequest('image_url must be base64-encoded: data:<type>;base64,…');
      }
      return text.slice(comma + 1);
    }
    if (SCHEME.test(text)) throw badRequest(NOT_A_DATA_URI);
    return text.trimStart();
  };

  const step = (chunk: Buffer, final: boolean, push: (b: Buffer) => void) => {
    if (head) {
      const seen = Buffer.concat([head, chunk]);
      const rest = begin(seen, final);
      if (rest === undefined) {
        head = seen;
        return;
      }
      head = undefined;
      decode(rest, push);
      return;
    }
    decode(chunk.toString('latin1'), push);
  };

  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      try {
        step(chunk, false, (b) => this.push(b));
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        if (head) step(Buffer.alloc(0), true, (b) => this.push(b));
        if (carry.length === 1) throw badRequest('image_url is not valid base64: it ends mid-character');
        if (carry.length > 0) this.push(Buffer.from(carry, 'base64'));
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
}
