import fs from 'node:fs';

/** Resident memory of one process now (VmRSS), in MB; undefined when it is gone or there is no /proc. */
export function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The highest RSS of a process while `fn` runs, sampled every `everyMs`. When it passes
 * `capMb`, `onCap` runs once (the bench stops the server rather than let it take the machine).
 */
export async function peakRssDuring<T>(
  pid: number,
  fn: () => Promise<T>,
  options: { everyMs?: number; capMb?: number; onCap?: () => void } = {},
): Promise<{ value: T; peakMb?: number; capped: boolean }> {
  let peak: number | undefined;
  let capped = false;
  const sample = () => {
    const now = rssMb(pid);
    if (now === undefined) return;
    peak = Math.max(peak ?? 0, now);
    if (options.capMb !== undefined && now > options.capMb && !capped) {
      capped = true;
      options.onCap?.();
    }
  };
  sample();
  const timer = setInterval(sample, options.everyMs ?? 50);
  try {
    const value = await fn();
    sample();
    return { value, peakMb: peak, capped };
  } finally {
    clearInterval(timer);
  }
}
