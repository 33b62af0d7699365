#!/bin/sh
':'; // 2>/dev/null; case " $NODE_OPTIONS " in *[-_]semi[-_]space[-_]size*) ;; *) NODE_OPTIONS="--max-semi-space-size=4 $NODE_OPTIONS" ;; esac
':'; // 2>/dev/null; export NODE_OPTIONS MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}" MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"; exec node "$0" "$@"
// The two lines above are shell (`//` fails, quietly) and, to JavaScript, a string and a comment.
// Run as a program (`npx gazo`, a global install, `./bin/gazo.js`), this file is first a shell
// script that replaces itself with node running this same file, with npm start's memory
// settings: V8's young generation capped (--max-semi-space-size=4), and glibc's one memory pool
// and early return of large buffers (README, "Commands"). glibc and V8 read them only as a
// process starts and Node 20 cannot exec, so it is done before node; `exec` leaves one process.
// A value the operator set (in the environment or NODE_OPTIONS) is kept. `node bin/gazo.js`
// (npm start, the tests) runs none of this.
//
// Entry point for `gazo` / `npx gazo` / `npm start`. Runs the JavaScript compiled at install
// (`npm ci` runs `prepare`, which builds dist/): no TypeScript transformer in memory.
//
// It runs the TypeScript sources through tsx instead when
//  - GAZO_FROM_SOURCE=1 (development; the tests when dist/ is stale), or
//  - dist/ is missing (installed with --ignore-scripts), or
//  - a file under src/ is newer than the build: an edited checkout never runs stale code.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtEntry, staleBuildReason } from './build-freshness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = builtEntry(root);

/** Why the sources must run rather than dist/, or undefined when dist/ is good to run. */
function reasonForSources() {
  if (process.env.GAZO_FROM_SOURCE === '1') return 'GAZO_FROM_SOURCE=1';
  return staleBuildReason(root);
}

const why = reasonForSources();
let main;
if (why === undefined) {
  ({ main } = await import(built));
} else {
  if (why !== 'GAZO_FROM_SOURCE=1') {
    process.stderr.write(`gazo: running the TypeScript sources (${why}); \`npm run build\` compiles them\n`);
  }
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
