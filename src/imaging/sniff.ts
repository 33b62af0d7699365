/**
 * Names image types Gazo does not take, from their first bytes, so that a refusal can say what
 * was sent ("HEIC is not supported") instead of a bare "Not an Image".
 */

/** Enough for every signature below, and for an SVG's XML prolog and comments. */
export const SNIFF_BYTES = 1024;

const ascii = (head: Buffer, start: number, end: number) => head.toString('latin1', start, end);

/** ISOBMFF (HEIF, AVIF): the `ftyp` box's major and compatible brands. */
function isobmffBrand(head: Buffer): string | undefined {
  if (head.length < 16 || ascii(head, 4, 8) !== 'ftyp') return undefined;
  const boxEnd = Math.min(head.readUInt32BE(0), head.length);
  const brands = [ascii(head, 8, 12)];
  for (let at = 16; at + 4 <= boxEnd; at += 4) brands.push(ascii(head, at, at + 4));
  if (brands[0] === 'avif' || brands[0] === 'avis') return 'AVIF';
  if (['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx'].includes(brands[0] as string)) return 'HEIC';
  if (brands[0] !== 'mif1' && brands[0] !== 'msf1') return undefined;
  // A generic HEIF brand: the compatible brands say what the pictures are coded in.
  if (brands.includes('avif') || brands.includes('avis')) return 'AVIF';
  if (brands.some((b) => b.startsWith('hei') || b.startsWith('hev'))) return 'HEIC';
  return 'HEIF';
}

function isSvg(head: Buffer): boolean {
  const text = head
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (!text.startsWith('<')) return false;
  // After an optional prolog, comments and doctype, the first element is <svg.
  return /^(?:<\?xml[^>]*>\s*)?(?:(?:<!--[\s\S]*?-->|<!DOCTYPE[^>]*>)\s*)*<svg[\s>]/i.test(text);
}

function isBmp(head: Buffer): boolean {
  // "BM" alone is too common a start; the DIB header that follows has one of a few sizes.
  return (
    head.length >= 18 &&
    ascii(head, 0, 2) === 'BM' &&
    [12, 40, 52, 56, 64, 108, 124].includes(head.readUInt32LE(14))
  );
}

/** Whether the bytes start as one of the four accepted types does (as libvips itself tells them). */
export function hasAcceptedSignature(head: Buffer): boolean {
  return (
    head.subarray(0, 8).toString('hex') === '89504e470d0a1a0a' ||
    (head[0] === 0xff && head[1] === 0xd8) ||
    ascii(head, 0, 4) === 'GIF8' ||
    (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 12) === 'WEBP')
  );
}

/** The name of a known but unsupported image type, or undefined. */
export function unsupportedImageType(head: Buffer): string | undefined {
  const brand = isobmffBrand(head);
  if (brand) return brand;
  const magic = head.subarray(0, 4).toString('hex');
  if (magic === '49492a00' || magic === '4d4d002a' || magic === '49492b00' || magic === '4d4d002b')
    return 'TIFF';
  if (magic === '00000100' || magic === '00000200') return 'ICO';
  if (ascii(head, 0, 4) === '8BPS') return 'PSD';
  if (ascii(head, 0, 5) === '%PDF-') return 'PDF';
  if (magic.startsWith('ff0a') || head.subarray(0, 12).toString('hex') === '0000000c4a584c200d0a870a')
    return 'JPEG XL';
  if (isBmp(head)) return 'BMP';
  if (isSvg(head)) return 'SVG';
  return undefined;
}
