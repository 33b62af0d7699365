import cliProgress from 'cli-progress';

export interface Progress {
  /** Moves the bar forward by `n` (default 1). */
  tick(n?: number): void;
  /** Puts the bar at `value`. */
  update(value: number): void;
  setTotal(total: number): void;
  /** Prints a line above the bar (or just prints it when there is no bar). */
  log(line: string): void;
  stop(): void;
}

/**
 * A progress bar on stderr, drawn only when stdout is a terminal: piped or redirected output
 * stays clean for scripts. Lines logged meanwhile are written once the bar is gone.
 */
export function progress(
  label: string,
  total: number,
  show = process.stdout.isTTY === true,
  unit: 'items' | 'bytes' = 'items',
): Progress {
  if (!show) {
    return {
      tick: () => undefined,
      update: () => undefined,
      setTotal: () => undefined,
      log: (line) => process.stdout.write(`${line}\n`),
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total}`,
      stream: process.stderr,
      hideCursor: true,
      formatValue: (v: number, options, type) =>
        unit === 'bytes' && (type === 'value' || type === 'total')
          ? mebibytes(v)
          : cliProgress.Format.ValueFormat(v, options, type),
    },
    cliProgress.Presets.shades_classic,
  );
  const held: string[] = [];
  bar.start(total, 0);
  return {
    tick: (n = 1) => bar.increment(n),
    update: (value) => bar.update(value),
    setTotal: (t) => bar.setTotal(t),
    log: (line) => held.push(line),
    stop() {
      bar.stop();
      for (const line of held) process.stdout.write(`${line}\n`);
    },
  };
}

const mebibytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
