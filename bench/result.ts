/** What every measurement of the bench yields (GET load, uploads, sharp alone). */
export interface LoadResult {
  /** Successful (2xx) responses per second over the measured window. */
  rps: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p99: number;
  ok: number;
  non2xx: number;
  /** The first refusal's status and what its body said: why the non-2xx answers came. */
  firstRefusal?: string;
  errors: number;
  timeouts: number;
  seconds: number;
  /** Server CPU time (user + system, all its processes) per successful request, in µs. */
  cpuUsPerOp?: number;
  /** Cores' worth of CPU used meanwhile by everything else on the machine (not server, not load). */
  otherCores?: number;
  /** Cores' worth of CPU the load generator itself used. */
  generatorCores?: number;
}
