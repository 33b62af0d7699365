/**
 * A single-colour GIF of any size, made without holding its pixels: the LZW stream of a run of
 * one colour is a fixed pattern, written here code by code. A 9999×10000 canvas (100 megapixels,
 * what an upload may declare by default) comes to about 70 KB, while a decoder must still fill
 * every pixel: the memory test for uploads.
 */
export function solidGif(
  width: number,
  height: number,
  rgb: [number, number, number] = [51, 102, 204],
): Buffer {
  const out: number[] = [];
  const u16 = (n: number) => out.push(n & 0xff, n >> 8);
  out.push(...Buffer.from('GIF89a', 'latin1'));
  u16(width);
  u16(height);
  // Global colour table of 2 entries (size field 0), colour 0 is ours.
  out.push(0x80, 0, 0, ...rgb, 0, 0, 0);
  // Image descriptor: the whole canvas, no local table, not interlaced.
  out.push(0x2c);
  u16(0);
  u16(0);
  u16(width);
  u16(height);
  out.push(0);
  const minCodeSize = 2;
  out.push(minCodeSize);
  const data = lzwOfRun(width * height, minCodeSize);
  for (let i = 0; i < data.length; i += 255) {
    const block = data.subarray(i, i + 255);
    out.push(block.length, ...block);
  }
  out.push(0, 0x3b); // block terminator, trailer
  return Buffer.from(out);
}

/**
 * LZW codes for `count` pixels of colour 0. After a clear, the table grows by one string per
 * code, each one pixel longer than the last: code k (from the first free code) stands for k+2
 * zeros. At 4096 entries the encoder clears and starts again.
 */
function lzwOfRun(count: number, minCodeSize: number): Buffer {
  const clear = 1 << minCodeSize;
  const eoi = clear + 1;
  const bytes: number[] = [];
  let acc = 0;
  let bits = 0;
  let width = minCodeSize + 1;
  const emit = (code: number) => {
    acc |= code << bits;
    bits += width;
    while (bits >= 8) {
      bytes.push(acc & 0xff);
      acc >>>= 8;
      bits -= 8;
    }
  };
  let left = count;
  while (left > 0) {
    emit(clear);
    width = minCodeSize + 1;
    let next = eoi + 1; // the next table entry the decoder will add
    // First code after a clear: one pixel, the colour itself.
    emit(0);
    left--;
    let run = 1; // length of the string the previous code stood for
    while (left > 0 && next < 4096) {
      // Each code makes the decoder add (previous string + one pixel) as entry `next`: the
      // string of run+1 zeros, which is also what this code, `next` itself, stands for.
      const take = Math.min(run + 1, left);
      // Code eoi+L-1 stands for L zeros (L ≥ 2); the last one may be shorter than the run.
      emit(take === 1 ? 0 : eoi + take - 1);
      left -= take;
      run = take;
      next++;
      if (next === 1 << width && width < 12) width++;
    }
  }
  emit(eoi);
  if (bits > 0) bytes.push(acc & 0xff);
  return Buffer.from(bytes);
}

/** The same GIF with a comment extension carrying `tag` before the trailer: new bytes, same pixels. */
export function uniqueGif(gif: Buffer, tag: string): Buffer {
  if (gif[gif.length - 1] !== 0x3b) throw new Error('GIF does not end with its trailer');
  const text = Buffer.from(`bench ${tag}`.slice(0, 255), 'latin1');
  const comment = Buffer.concat([Buffer.from([0x21, 0xfe, text.length]), text, Buffer.from([0])]);
  return Buffer.concat([gif.subarray(0, gif.length - 1), comment, Buffer.from([0x3b])]);
}
