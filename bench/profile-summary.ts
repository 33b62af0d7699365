/**
 * Where a V8 CPU profile (`node --cpu-prof`) spent its time: self time summed by function and by
 * where the code lives (our sources, each package, Node's internals, GC), and the inclusive time
 * of any functions named. For reading the bench's profiles:
 *
 *   BENCH_ONLY=list BENCH_RUNS=1 BENCH_GAZO_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench
 *   node --import tsx bench/profile-summary.ts /tmp/prof/*.cpuprofile [--top 40] [--inclusive fnA,fnB]
 *     [--from S --to S]   (only the samples between S and S seconds after the profile began)
 *     [--timeline]        (busy share per second, to find a scenario's window)
 */
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Our sources by file, packages by name, Node by `node:` module, else V8's own labels. */
function placeOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  const ours = /\/(src|dist)\/(.*)$/.exec(url);
  if (ours) return `gazo:${(ours[2] as string).replace(/\.js$/, '.ts')}`;
  if (url.startsWith('node:')) return url.replace(/^node:internal\/([^/]+).*$/, 'node:$1');
  return url;
}

function main() {
  const files = process.argv
    .slice(2)
    .filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
  const top = Number(argValue('--top') ?? 40);
  const inclusiveNames = (argValue('--inclusive') ?? '').split(',').filter(Boolean);
  const fromUs = Number(argValue('--from') ?? 0) * 1e6;
  const toUs = Number(argValue('--to') ?? Number.POSITIVE_INFINITY) * 1e6;
  for (const file of files) {
    const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const selfUs = new Map<number, number>();
    let total = 0;
    let at = 0;
    const busyBySecond: number[] = [];
    profile.samples.forEach((id, i) => {
      const dt = profile.timeDeltas[i] ?? 0;
      at += dt;
      if (at < fromUs || at >= toUs) return;
      const second = Math.floor(at / 1e6);
      if ((byId.get(id) as ProfileNode).callFrame.functionName !== '(idle)')
        busyBySecond[second] = (busyBySecond[second] ?? 0) + dt;
      selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
      total += dt;
    });
    if (process.argv.includes('--timeline')) {
      for (let s = 0; s < busyBySecond.length; s++)
        console.log(
          `${String(s).padStart(4)} s  busy ${(((busyBySecond[s] ?? 0) / 1e4) | 0).toString().padStart(3)} %`,
        );
    }
    const byFunction = new Map<string, number>();
    const byPlace = new Map<string, number>();
    const inclusive = new Map<string, number>();
    for (const [id, us] of selfUs) {
      const { functionName, url, lineNumber } = (byId.get(id) as ProfileNode).callFrame;
      const place = placeOf(url, functionName);
      const fn = `${functionName || '(anonymous)'} ${place}:${lineNumber + 1}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
      byPlace.set(place, (byPlace.get(place) ?? 0) + us);
      // Each named function counted once per sample, however deep its recursion.
      const seen = new Set<string>();
      for (let up: number | undefined = id; up !== undefined; up = parent.get(up)) {
        const name = (byId.get(up) as ProfileNode).callFrame.functionName;
        if (inclusiveNames.includes(name) && !seen.has(name)) {
          seen.add(name);
          inclusive.set(name, (inclusive.get(name) ?? 0) + us);
        }
      }
    }
    const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
    const print = (title: string, m: Map<string, number>, n: number) => {
      console.log(`\n${title}`);
      for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(`${pct(us)}  ${k}`);
    };
    console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
    print('self time by place', byPlace, top);
    print('self time by function', byFunction, top);
    if (inclusiveNames.length > 0) print('inclusive time', inclusive, inclusiveNames.length);
  }
}

main();
