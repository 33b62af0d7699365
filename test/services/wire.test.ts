import { describe, expect, it } from 'vitest';
import { formatCreatedAt } from '../../src/services/wire.ts';

describe('formatCreatedAt', () => {
  const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}+0000`;

  it('writes the UTC time to the second, as the ISO form does, for any time', () => {
    expect(formatCreatedAt(Date.UTC(2024, 1, 29, 3, 4, 5, 999))).toBe('2024-02-29T03:04:05+0000');
    const edges = [
      0,
      -1,
      Date.UTC(1000, 0, 1),
      Date.UTC(1000, 0, 1) - 1,
      Date.UTC(999, 11, 31, 23, 59, 59),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
      Date.UTC(10000, 0, 1),
      Date.UTC(-1, 5, 6),
      8.64e15,
    ];
    // Fixed walks, so that a failure is the same every run: dense over the four-digit years, and
    // over the whole range a Date can hold.
    const walk = (from: number, to: number, n: number) =>
      Array.from({ length: n }, (_, i) => Math.round(from + ((to - from) * i) / (n - 1)));
    const spread = [
      ...walk(Date.UTC(999, 0, 1), Date.UTC(10001, 0, 1), 20_000).map((ms) => ms + 123_457),
      ...walk(-8.64e15, 8.64e15, 2_000),
    ];
    for (const ms of [...edges, ...spread]) expect(formatCreatedAt(ms), String(ms)).toBe(iso(ms));
  });

  it('gives each of many times in a row its own date and time, within a day and across days', () => {
    const start = Date.UTC(2025, 11, 31, 23, 0, 0);
    // Every 7.3 s over a New Year, then back and forth between two days, then before 1970.
    const times = [
      ...Array.from({ length: 1000 }, (_, i) => start + i * 7_300 + 0.5),
      ...Array.from({ length: 200 }, (_, i) => start + (i % 2) * 86_400_000 + i),
      ...Array.from({ length: 200 }, (_, i) => -86_400_000 + i * 997 - 0.5),
    ];
    for (const ms of times) expect(formatCreatedAt(ms), String(ms)).toBe(iso(ms));
  });

  it('refuses a time that is not one, as before', () => {
    expect(() => formatCreatedAt(Number.NaN)).toThrow(RangeError);
  });
});
