import { describe, expect, it } from 'vitest';
import { ImageListing, type ListedImages } from '../../src/services/image-listing.ts';
import type { Principal } from '../../src/services/principal.ts';
import { ImageUrls } from '../../src/services/wire.ts';
import { wireImagesJson } from '../../src/services/wire-json.ts';
import type { ListedImageRow } from '../../src/store/schema.ts';

const urls = new ImageUrls(
  {
    base: 'https://gazo.test',
    web: 'https://gazo.test',
    image: 'https://i.gazo.test',
    api: 'https://gazo.test',
    upload: 'https://gazo.test',
  },
  300,
);
const user = { userId: 1 } as Principal;

const listed = (seq: number, title: string): ListedImageRow => ({
  image_id: seq.toString(16).padStart(32, '0'),
  type: 'png',
  created_at: Date.UTC(2026, 0, 1) + seq * 60_000,
  app: null,
  title,
  url: null,
  desc: '',
  alt_text: '',
  access_policy: 'anyone',
  ocr_locale: null,
  ocr_text: '',
  latitude: null,
  longitude: null,
  seq,
  revision: 0,
});

/** A user's images, newest first, counting how each kind of read was asked for. */
class FakeImages implements ListedImages {
  rows: ListedImageRow[] = [];
  reads = { list: 0, refs: 0, bySeq: 0 };
  /** The seqs listedBySeq was asked for, call by call. */
  askedSeqs: number[][] = [];
  /** Seqs listedBySeq answers nothing for, as if deleted after the refs were read. */
  goneAfterRefs = new Set<number>();
  private page(page: number, perPage: number) {
    return this.rows.slice((page - 1) * perPage, page * perPage);
  }
  async list(_user: Principal, page: number, perPage: number) {
    this.reads.list++;
    return { rows: this.page(page, perPage).map((r) => ({ ...r })), total: this.rows.length };
  }
  async listRefs(_user: Principal, page: number, perPage: number) {
    this.reads.refs++;
    return this.page(page, perPage).map(({ seq, revision }) => ({ seq, revision }));
  }
  async listedBySeq(_user: Principal, seqs: readonly number[]) {
    this.reads.bySeq++;
    this.askedSeqs.push([...seqs]);
    return this.rows
      .filter((r) => seqs.includes(r.seq) && !this.goneAfterRefs.has(r.seq))
      .map((r) => ({ ...r }));
  }
}

const fakeWith = (n: number) => {
  const images = new FakeImages();
  images.rows = Array.from({ length: n }, (_, i) => listed(n - i, `image ${n - i}`));
  return images;
};

describe('ImageListing', () => {
  it('answers a page of images it has serialised from their kept JSON, the same bytes as read afresh', async () => {
    const images = fakeWith(10);
    const listing = new ImageListing(images, urls, 1024 * 1024);
    const expected = (page: number) => wireImagesJson(urls, images.rows.slice((page - 1) * 4, page * 4));
    expect(await listing.pageJson(user, 1, 4)).toBe(expected(1));
    expect(images.reads).toEqual({ list: 1, refs: 1, bySeq: 0 });
    // Other pages and sizes made of the same images: the refs alone.
    expect(await listing.pageJson(user, 1, 4)).toBe(expected(1));
    expect(await listing.pageJson(user, 1, 2)).toBe(wireImagesJson(urls, images.rows.slice(0, 2)));
    expect(images.reads).toEqual({ list: 1, refs: 3, bySeq: 0 });
    expect(await listing.pageJson(user, 3, 4)).toBe(expected(3));
    expect(await listing.pageJson(user, 4, 4)).toBe('[]');
  });

  it('reads by itself only an image with a new revision, or new to it, and the rest from what it keeps', async () => {
    const images = fakeWith(6);
    const listing = new ImageListing(images, urls, 1024 * 1024);
    await listing.pageJson(user, 1, 3);
    const row = images.rows[1] as ListedImageRow;
    row.title = 'renamed';
    row.revision++;
    expect(await listing.pageJson(user, 1, 3)).toBe(wireImagesJson(urls, images.rows.slice(0, 3)));
    expect(JSON.parse(await listing.pageJson(user, 1, 3))[1].metadata.title).toBe('renamed');
    expect(images.askedSeqs).toEqual([[row.seq]]);
    // An upload shifts the page: only the new image is read.
    images.rows.unshift(listed(7, 'new'));
    expect(await listing.pageJson(user, 1, 3)).toBe(wireImagesJson(urls, images.rows.slice(0, 3)));
    expect(images.askedSeqs).toEqual([[row.seq], [7]]);
    expect(images.reads.list).toBe(1);
  });

  it('answers a library larger than it keeps from what it keeps, reading only the rest', async () => {
    const images = fakeWith(100);
    const one = wireImagesJson(urls, [images.rows[0] as ListedImageRow]).length;
    // About half the images fit.
    const listing = new ImageListing(images, urls, 50 * (one + 96));
    for (let page = 1; page <= 10; page++) await listing.pageJson(user, page, 10);
    // The second half is kept; a page across the middle is half kept.
    const { list } = images.reads;
    expect(await listing.pageJson(user, 3, 20)).toBe(wireImagesJson(urls, images.rows.slice(40, 60)));
    const read = images.askedSeqs.flat();
    expect(read.length).toBeGreaterThanOrEqual(9);
    expect(read.length).toBeLessThanOrEqual(11);
    expect(images.reads.list).toBe(list);
  });

  it('reads the whole page again when an image it has to read is gone since the refs were read', async () => {
    const images = fakeWith(6);
    const listing = new ImageListing(images, urls, 1024 * 1024);
    await listing.pageJson(user, 1, 3);
    images.rows.unshift(listed(7, 'new'));
    images.goneAfterRefs.add(7);
    await listing.pageJson(user, 1, 3);
    expect(images.reads).toMatchObject({ list: 2, bySeq: 1 });
  });

  it('keeps no more bytes than it is given, dropping the least recently listed', async () => {
    const images = fakeWith(100);
    const one = wireImagesJson(urls, [images.rows[0] as ListedImageRow]).length;
    const listing = new ImageListing(images, urls, 30 * (one + 96));
    for (let page = 1; page <= 10; page++) await listing.pageJson(user, page, 10);
    expect(listing.keptBytes).toBeLessThanOrEqual(30 * (one + 96));
    expect(listing.keptBytes).toBeGreaterThan(20 * one);
    const reads = images.reads.list;
    // The last pages listed are kept, the first ones were dropped.
    await listing.pageJson(user, 10, 10);
    expect(images.reads.list).toBe(reads);
    await listing.pageJson(user, 1, 10);
    expect(images.reads.list).toBe(reads + 1);
  });

  it('keeps nothing, and reads only the rows, when given no bytes', async () => {
    const images = fakeWith(5);
    const listing = new ImageListing(images, urls, 0);
    await listing.pageJson(user, 1, 5);
    await listing.pageJson(user, 1, 5);
    expect(images.reads).toEqual({ list: 2, refs: 0, bySeq: 0 });
    expect(listing.keptBytes).toBe(0);
  });
});
