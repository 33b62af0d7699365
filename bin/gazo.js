#!/usr/bin/env node
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
