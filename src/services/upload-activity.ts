/**
 * Uploads in progress, so that background work (the decode for thumbnails and OCR) can give way
 * to them: on two cores a decode running beside an upload doubles the upload's answer time. The
 * wait ends when the work is `MAX_DELAY_MS` old: a steady stream of uploads delays background
 * work by that much at most, and then shares the cores with it, never starves it.
 */
export class UploadActivity {
  private running = 0;
  private lastEnded = 0;

  /** Marks an upload as running; call the returned function (once) when it has answered. */
  begin(): () => void {
    this.running++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.running--;
      this.lastEnded = Date.now();
    };
  }

  /** Whether an upload runs now or ended less than `quietMs` ago. */
  busy(quietMs = QUIET_MS): boolean {
    return this.running > 0 || Date.now() - this.lastEnded < quietMs;
  }

  /**
   * Resolves once no upload has run for `quietMs`, or once work queued at `queuedAt` is
   * `maxDelayMs` old, whichever comes first.
   */
  async quietOrOld(queuedAt: number, quietMs = QUIET_MS, maxDelayMs = MAX_DELAY_MS): Promise<void> {
    const deadline = queuedAt + maxDelayMs;
    for (;;) {
      const now = Date.now();
      if (now >= deadline || (this.running === 0 && now - this.lastEnded >= quietMs)) return;
      await new Promise((r) => setTimeout(r, Math.min(quietMs, deadline - now)));
    }
  }
}

const QUIET_MS = 25;
/**
 * Long enough for a burst of uploads (a team's, an import's) to be answered at full speed
 * before its thumbnails and text are made; a thumbnail asked for meanwhile is made on demand.
 */
const MAX_DELAY_MS = 10_000;
