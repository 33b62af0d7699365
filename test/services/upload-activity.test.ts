import { describe, expect, it } from 'vitest';
import { UploadActivity } from '../../src/services/upload-activity.ts';

/** Background decodes give way to uploads in progress, but only for a bounded time. */
describe('UploadActivity', () => {
  const elapsed = async (work: Promise<void>) => {
    const t0 = Date.now();
    await work;
    return Date.now() - t0;
  };

  it('lets background work start at once when no upload runs', async () => {
    expect(await elapsed(new UploadActivity().quietOrOld(Date.now(), 5, 5_000))).toBeLessThan(1000);
  });

  it('holds it while an upload runs, and lets it go once the uploads have stopped', async () => {
    const activity = new UploadActivity();
    const ended = activity.begin();
    setTimeout(ended, 300);
    const waited = await elapsed(activity.quietOrOld(Date.now(), 5, 10_000));
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(5_000);
  });

  it('never holds work past its bound, however many uploads keep coming', async () => {
    const activity = new UploadActivity();
    activity.begin(); // never ends
    const waited = await elapsed(activity.quietOrOld(Date.now() - 100, 5, 400));
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(3_000);
    // Work already older than the bound does not wait at all.
    expect(await elapsed(activity.quietOrOld(Date.now() - 1_000, 5, 400))).toBeLessThan(200);
  });
});
