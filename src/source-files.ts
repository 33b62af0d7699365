import { fileURLToPath } from 'node:url';

/**
 * A file that ships as written under the package's `src/` (browser scripts and styles, a worker
 * thread's CommonJS script): the build compiles TypeScript only, so code in `dist/` reads these
 * from `src/` too. This module sits at the top of `src/` and of `dist/` alike.
 */
export function sourceFile(relative: string): string {
  return fileURLToPath(new URL(`../src/${relative}`, import.meta.url));
}
