import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: files that start servers and decode images do better two at a time.
    maxWorkers: 2,
    // One throwaway PostgreSQL cluster per run (or GAZO_TEST_DATABASE_URL): see test/helpers/postgres.ts.
    // Every temporary folder under one that is removed at the end (temp-root.ts), then PostgreSQL.
    globalSetup: ['./test/helpers/temp-root.ts', './test/helpers/postgres.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
