/** The compiled entry point under `root`: the CLI's `main`. */
export function builtEntry(root: string): string;
/** Why dist/ under `root` must not run (missing, or a source newer than it), or undefined when it may. */
export function staleBuildReason(root: string): string | undefined;
