/**
 * Bounds the memory that image decoding takes at once. Decoding costs about
 * width × height × channels bytes whatever the file's size (a 68 KB GIF can claim 400 MB), so
 * concurrent pixel-heavy uploads wait here for each other instead of multiplying. First come,
 * first served: a large image is never overtaken for ever by a stream of small ones.
 */
export class DecodeBudget {
  private inUse = 0;
  private readonly waiting: Array<{ cost: number; start: () => void }> = [];

  constructor(readonly capacityBytes: number) {}

  /** Bytes a full decode of a `width`×`height` canvas may take: RGBA, one frame. */
  static costOf(width: number, height: number): number {
    return width * height * 4;
  }

  async run<T>(cost: number, decode: () => Promise<T>): Promise<T> {
    // An image larger than the whole budget still runs, alone.
    const claim = Math.min(Math.max(cost, 1), this.capacityBytes);
    await this.acquire(claim);
    try {
      return await decode();
    } finally {
      this.inUse -= claim;
      this.startWaiting();
    }
  }

  /** Bytes claimed by decodes running now, and how many are queued: for tests and status. */
  get usage() {
    return { inUse: this.inUse, waiting: this.waiting.length };
  }

  private acquire(cost: number): Promise<void> {
    if (this.waiting.length === 0 && this.inUse + cost <= this.capacityBytes) {
      this.inUse += cost;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiting.push({
        cost,
        start: () => {
          this.inUse += cost;
          resolve();
        },
      });
    });
  }

  private startWaiting(): void {
    for (let next = this.waiting[0]; next; next = this.waiting[0]) {
      if (this.inUse + next.cost > this.capacityBytes) return;
      this.waiting.shift();
      next.start();
    }
  }
}
