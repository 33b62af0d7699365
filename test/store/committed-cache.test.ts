import { afterEach, describe, expect, it, vi } from 'vitest';
import { CommittedCache } from '../../src/store/committed-cache.ts';
import type { ReadRunner } from '../../src/store/reusable-query.ts';

/** A reader whose change counter the test moves (a commit) or hides (a transaction under way). */
function fakeReader() {
  const state = { counter: 1 as number | undefined };
  const reader: ReadRunner = {
    all: () => Promise.reject(new Error('not used')),
    arrays: () => Promise.reject(new Error('not used')),
    changeCounter: () => state.counter,
  };
  return { state, reader };
}

describe('CommittedCache', () => {
  afterEach(() => vi.useRealTimers());

  it('peeks at a kept answer, the same object each time, until anything is committed', async () => {
    const { state, reader } = fakeReader();
    const cache = new CommittedCache<{ n: number }>(() => reader, 60_000, 10);
    let loads = 0;
    const load = async () => ({ n: ++loads });
    expect(cache.peek('k')).toBeUndefined();
    const first = await cache.get('k', load);
    expect(cache.peek('k')).toBe(first);
    expect(await cache.get('k', load)).toBe(first);
    expect(loads).toBe(1);

    state.counter = 2; // a commit
    expect(cache.peek('k')).toBeUndefined();
    const second = await cache.get('k', load);
    expect(second).toEqual({ n: 2 });
    expect(cache.peek('k')).toBe(second);
  });

  it('keeps nothing while the counter cannot tell, and nothing past its age', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { state, reader } = fakeReader();
    const cache = new CommittedCache<string>(() => reader, 5_000, 10);
    await cache.get('k', async () => 'kept');
    state.counter = undefined; // a transaction of this process under way
    expect(cache.peek('k')).toBeUndefined();
    expect(await cache.get('k', async () => 'loaded')).toBe('loaded');

    state.counter = 2; // and its commit
    expect(await cache.get('k', async () => 'again')).toBe('again');
    expect(cache.peek('k')).toBe('again');
    vi.setSystemTime(1_000_000 + 5_001);
    expect(cache.peek('k')).toBeUndefined();
  });

  it('never keeps a miss, so guesses cannot fill it', async () => {
    const { reader } = fakeReader();
    const cache = new CommittedCache<string>(() => reader, 60_000, 10);
    expect(await cache.get('guess', async () => undefined)).toBeUndefined();
    expect(cache.peek('guess')).toBeUndefined();
  });
});
