import fs from 'node:fs';

/** Linux reports process times in clock ticks; USER_HZ is 100 on every mainstream build. */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) used so far by every live process of a process group, read from
 * /proc; undefined where there is no /proc. The bench starts each server as its own group, so this
 * counts nginx's worker along with its master.
 */
export function groupCpuSeconds(pgid: number): number | undefined {
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return undefined;
  }
  let ticks = 0;
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const fields = statFields(name);
    if (!fields || Number(fields[2]) !== pgid) continue; // field 5: process group
    ticks += Number(fields[11]) + Number(fields[12]); // fields 14, 15: utime, stime
  }
  return ticks / TICKS_PER_SECOND;
}

/** CPU seconds (user + system, all threads) used so far by one live process. */
export function processCpuSeconds(pid: number): number | undefined {
  const fields = statFields(String(pid));
  return fields ? (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND : undefined;
}

/** The fields of /proc/<pid>/stat after the command name, or undefined when it is gone. */
function statFields(pid: string): string[] | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: split after it.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds the whole machine has spent busy (all cores), from /proc/stat; undefined elsewhere. */
export function machineBusySeconds(): number | undefined {
  let line: string | undefined;
  try {
    line = fs.readFileSync('/proc/stat', 'latin1').split('\n', 1)[0];
  } catch {
    return undefined;
  }
  // cpu  user nice system idle iowait irq softirq steal ...
  const [user, nice, system, , , irq, softirq, steal] = (line ?? '').trim().split(/\s+/).slice(1).map(Number);
  const busy = [user, nice, system, irq, softirq, steal].reduce<number>((a, b) => a + (b ?? 0), 0);
  return busy / TICKS_PER_SECOND;
}

/**
 * Measures, around `fn`, how many cores' worth of CPU the rest of the machine used: everything
 * busy minus this process and, when given, the server's process group. Other work running at the
 * same time (tests, builds) shows here, and explains a slow figure.
 */
export async function withOtherLoad<T>(
  serverGroup: number | undefined,
  fn: () => Promise<T>,
): Promise<{ value: T; serverCpu?: number; otherCores?: number }> {
  const busy0 = machineBusySeconds();
  const server0 = serverGroup === undefined ? undefined : groupCpuSeconds(serverGroup);
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const elapsed = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const busy1 = machineBusySeconds();
  const server1 = serverGroup === undefined ? undefined : groupCpuSeconds(serverGroup);
  const serverCpu = server0 === undefined || server1 === undefined ? undefined : server1 - server0;
  if (busy0 === undefined || busy1 === undefined) return { value, serverCpu };
  const other = busy1 - busy0 - (serverCpu ?? 0) - (self.user + self.system) / 1e6;
  return { value, serverCpu, otherCores: Math.max(0, other / elapsed) };
}

/**
 * Waits until a process has used under `share` of a core over each of two `windowMs` windows
 * in a row (its background jobs done: the thumbnail and OCR of an upload), or `timeoutMs` passed.
 * Resolves with whether it went quiet.
 */
export async function quietProcess(
  pid: number,
  share = 0.05,
  windowMs = 500,
  timeoutMs = 60_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let quietWindows = 0;
  let before = processCpuSeconds(pid);
  while (before !== undefined && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, windowMs));
    const after = processCpuSeconds(pid);
    if (after === undefined) return false;
    quietWindows = after - before < (share * windowMs) / 1000 ? quietWindows + 1 : 0;
    if (quietWindows >= 2) return true;
    before = after;
  }
  return false;
}
