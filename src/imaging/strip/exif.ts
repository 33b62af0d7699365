/**
 * The two facts Gazo keeps from an EXIF block before dropping it: orientation (written back, so
 * the image still shows the right way up) and the GPS position (stored for the owner only).
 *
 * Read here rather than with an EXIF library: exif-reader 2.0.3 materialises every array a tag
 * claims, and a crafted 61 KB block (5,000 byte-array tags of 2^32 values each) took it 9.7 s
 * and 3.1 GB. This reader looks at five tags, and every read is bounded by the block itself.
 */

export interface GeoLocation {
  latitude: number;
  longitude: number;
}

export interface ExifFacts {
  /** 1–8 as EXIF defines it; 1 when absent or unreadable. */
  orientation: number;
  location?: GeoLocation;
}

/**
 * EXIF blocks longer than this (JPEG's own limit) are not read for orientation or location; they
 * are dropped all the same.
 */
export const MAX_EXIF_READ = 64 * 1024;

const ORIENTATION = 0x0112;
const GPS_IFD = 0x8825;
const GPS_LATITUDE_REF = 1;
const GPS_LATITUDE = 2;
const GPS_LONGITUDE_REF = 3;
const GPS_LONGITUDE = 4;
const GPS_STATUS = 9;
const SHORT = 3;
const LONG = 4;
const RATIONAL = 5;
const SRATIONAL = 10;
const IFD = 13;

/** JPEG's APP1 always starts so; some PNG and WebP writers copy the prefix into their chunks too. */
export const EXIF_PREFIX = Buffer.from('Exif\0\0', 'latin1');

/** The TIFF structure inside an EXIF block, without any `Exif\0\0` prefix. */
export function tiffOf(block: Buffer): Buffer {
  return block.subarray(0, 6).equals(EXIF_PREFIX) ? block.subarray(6) : block;
}

interface Entry {
  tag: number;
  type: number;
  count: number;
  /** Where the value is, or where the offset to it is when it does not fit in four bytes. */
  at: number;
}

class Tiff {
  constructor(
    private readonly bytes: Buffer,
    private readonly littleEndian: boolean,
  ) {}

  static open(bytes: Buffer): Tiff | undefined {
    const order = bytes.toString('latin1', 0, 2);
    if (bytes.length < 8 || (order !== 'II' && order !== 'MM')) return undefined;
    const tiff = new Tiff(bytes, order === 'II');
    return tiff.u16(2) === 42 ? tiff : undefined;
  }

  u16(at: number): number {
    return this.littleEndian ? this.bytes.readUInt16LE(at) : this.bytes.readUInt16BE(at);
  }
  u32(at: number): number {
    return this.littleEndian ? this.bytes.readUInt32LE(at) : this.bytes.readUInt32BE(at);
  }
  i32(at: number): number {
    return this.littleEndian ? this.bytes.readInt32LE(at) : this.bytes.readInt32BE(at);
  }

  /** The entries of the IFD at `offset`, as many as the block really holds. */
  entries(offset: number): Entry[] {
    if (offset < 8 || offset + 2 > this.bytes.length) return [];
    const count = Math.min(this.u16(offset), Math.floor((this.bytes.length - offset - 2) / 12));
    const out: Entry[] = [];
    for (let i = 0; i < count; i++) {
      const at = offset + 2 + i * 12;
      out.push({ tag: this.u16(at), type: this.u16(at + 2), count: this.u32(at + 4), at: at + 8 });
    }
    return out;
  }

  ascii(entry: Entry): string {
    // GPS references are one letter and a NUL: always inline.
    return entry.type === 2 && entry.count <= 4 ? this.bytes.toString('latin1', entry.at, entry.at + 1) : '';
  }

  /** Three (s)rationals: degrees, minutes, seconds. */
  degrees(entry: Entry): number | undefined {
    if ((entry.type !== RATIONAL && entry.type !== SRATIONAL) || entry.count !== 3) return undefined;
    const offset = this.u32(entry.at);
    if (offset + 24 > this.bytes.length) return undefined;
    const part = (i: number) => {
      const at = offset + i * 8;
      const num = entry.type === RATIONAL ? this.u32(at) : this.i32(at);
      const den = entry.type === RATIONAL ? this.u32(at + 4) : this.i32(at + 4);
      return den === 0 ? Number.NaN : num / den;
    };
    return part(0) + part(1) / 60 + part(2) / 3600;
  }
}

export function readExif(block: Buffer): ExifFacts {
  try {
    return readTiff(tiffOf(block));
  } catch {
    // Every read is bounds-checked above; a RangeError here still means "unreadable", not a crash.
    return { orientation: 1 };
  }
}

function readTiff(bytes: Buffer): ExifFacts {
  const tiff = Tiff.open(bytes);
  if (!tiff) return { orientation: 1 };
  let orientation = 1;
  let gps: number | undefined;
  for (const entry of tiff.entries(tiff.u32(4))) {
    if (entry.tag === ORIENTATION && entry.type === SHORT && entry.count === 1) {
      const value = tiff.u16(entry.at);
      if (value >= 1 && value <= 8) orientation = value;
    } else if (entry.tag === GPS_IFD && (entry.type === LONG || entry.type === IFD) && entry.count === 1) {
      gps = tiff.u32(entry.at);
    }
  }
  return { orientation, location: gps === undefined ? undefined : readLocation(tiff, gps) };
}

function readLocation(tiff: Tiff, offset: number): GeoLocation | undefined {
  const tags = new Map(tiff.entries(offset).map((e) => [e.tag, e]));
  const get = <T>(tag: number, read: (e: Entry) => T) => {
    const entry = tags.get(tag);
    return entry ? read(entry) : undefined;
  };
  // 'V' is "measurement void": the receiver had no fix, the numbers mean nothing.
  if (get(GPS_STATUS, (e) => tiff.ascii(e)) === 'V') return undefined;
  const latitude = get(GPS_LATITUDE, (e) => tiff.degrees(e));
  const longitude = get(GPS_LONGITUDE, (e) => tiff.degrees(e));
  const latRef = get(GPS_LATITUDE_REF, (e) => tiff.ascii(e));
  const lonRef = get(GPS_LONGITUDE_REF, (e) => tiff.ascii(e));
  if (latitude === undefined || longitude === undefined) return undefined;
  if (!(Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180)) return undefined;
  return {
    latitude: latRef === 'S' ? -latitude : latitude,
    longitude: lonRef === 'W' ? -longitude : longitude,
  };
}

/** An EXIF block (TIFF, big-endian) holding only the orientation; none for the default 1. */
export function minimalExif(orientation: number): Buffer | undefined {
  if (orientation === 1) return undefined;
  const tiff = Buffer.alloc(26);
  tiff.write('MM', 0, 'latin1');
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(8, 4);
  tiff.writeUInt16BE(1, 8);
  tiff.writeUInt16BE(ORIENTATION, 10);
  tiff.writeUInt16BE(SHORT, 12);
  tiff.writeUInt32BE(1, 14);
  tiff.writeUInt16BE(orientation, 18);
  tiff.writeUInt32BE(0, 22); // no next IFD
  return tiff;
}
