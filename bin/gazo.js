#!/usr/bin/env node
// Entry point for `gazo` / `npx gazo` / `npm start`. Runs the JavaScript compiled at install
// (`npm ci` runs `prepare`, which builds dist/): no TypeScript transformer in memory.
//
// It runs the TypeScript sources through tsx instead when
//  - GAZO_FROM_SOURCE=1 (development, and the tests that spawn this file), or
//  - dist/ is missing (installed with --ignore-scripts), or
//  - a file under src/ is newer than the build: an edited checkout never runs stale code.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const built = path.join(root, 'dist', 'cli', 'main.js');

/** Why the sources must run rather than dist/, or undefined when dist/ is good to run. */
function reasonForSources() {
  if (process.env.GAZO_FROM_SOURCE === '1') return 'GAZO_FROM_SOURCE=1';
  let builtAt;
  try {
    builtAt = fs.statSync(built).mtimeMs;
  } catch {
    return 'no build in dist/';
  }
  const src = path.join(root, 'src');
  for (const entry of fs.readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (fs.statSync(file).mtimeMs > builtAt) return `${path.relative(root, file)} changed since the build`;
  }
  return undefined;
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
