import { describe, expect, it } from 'vitest';
import { ListPageCache } from '../../src/http/list-page-cache.ts';

describe('ListPageCache', () => {
  const page = (n: number, bytes: number) => Buffer.from(`[${String(n).padEnd(bytes - 2, ' ')}]`);

  it('holds pages up to its size in bytes, however many that is, dropping the least recently used', () => {
    const cache = new ListPageCache(1000);
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, page(i, 100));
    expect(cache.size).toBe(1000);
    cache.get('k0'); // now the most recently used
    // One page of 100 images is as large as five of 20: it pushes out several small ones.
    cache.set('big', page(99, 450));
    expect(cache.size).toBeLessThanOrEqual(1000);
    expect(cache.get('big')).toEqual(page(99, 450));
    expect(cache.get('k0')).toEqual(page(0, 100));
    for (const gone of ['k1', 'k2', 'k3', 'k4', 'k5']) expect(cache.get(gone)).toBeUndefined();
    expect(cache.get('k6')).toEqual(page(6, 100));
  });

  it('keeps the order of use right when one page is asked for again and again', () => {
    const cache = new ListPageCache(1000);
    for (let i = 0; i < 10; i++) cache.set(`k${i}`, page(i, 100));
    cache.get('k9');
    cache.get('k0');
    cache.get('k9'); // after k0 again: the most recently used
    cache.set('x', page(10, 900));
    expect(cache.get('k9')).toEqual(page(9, 100));
    expect(cache.get('k0')).toBeUndefined();
    expect(cache.size).toBe(1000);
  });

  it('keeps no page larger than the whole cache, and counts a replaced page once', () => {
    const cache = new ListPageCache(1000);
    cache.set('a', page(1, 300));
    cache.set('huge', page(2, 1001));
    expect(cache.get('huge')).toBeUndefined();
    cache.set('a', page(3, 200));
    expect(cache.size).toBe(200);
    expect(cache.get('a')).toEqual(page(3, 200));
  });

  it('keeps a page only when it is asked for again while among the last pages read once', () => {
    const cache = new ListPageCache(1000, 3);
    expect(cache.admit('p1')).toBe(false);
    expect(cache.admit('p1')).toBe(true);
    // Asked once more after that, it counts as new again (a kept page is answered from the cache).
    expect(cache.admit('p1')).toBe(false);
    // A walk through more pages than are remembered keeps none of them, however long it is.
    for (const walk of [1, 2])
      for (let p = 10; p < 20; p++) expect(cache.admit(`p${p}`), `walk ${walk}`).toBe(false);
    expect(cache.admit('p18')).toBe(true);
  });
});
