/** A Fastify logger that keeps every line it writes, parsed, for tests that read the log. */
export function capturedLog(level = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const stream = {
    write(line: string) {
      raw.push(line);
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  return { lines, text: () => raw.join(''), logger: { level, stream } };
}
