// Whether dist/ holds a build of the sources as they are now: bin/gazo.js runs it only then,
// and the tests' children run it (as users do) only then. Plain JavaScript: it runs before
// anything can compile TypeScript.
import fs from 'node:fs';
import path from 'node:path';

/** The compiled entry point under `root`: the CLI's `main`. */
export function builtEntry(root) {
  return path.join(root, 'dist', 'cli', 'main.js');
}

/** Why dist/ under `root` must not run (missing, or a source newer than it), or undefined when it may. */
export function staleBuildReason(root) {
  let builtAt;
  try {
    builtAt = fs.statSync(builtEntry(root)).mtimeMs;
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
