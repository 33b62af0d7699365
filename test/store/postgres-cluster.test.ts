import { afterAll, describe, expect, it } from 'vitest';
import { queryDatabase, testDatabase } from '../helpers/postgres.ts';

describe('the test PostgreSQL cluster', () => {
  const made: Array<{ drop(): Promise<void> }> = [];
  afterAll(async () => {
    for (const db of made) await db.drop();
  });

  it('gives each caller a database of its own, on 127.0.0.1, without fsync', async () => {
    const a = await testDatabase();
    const b = await testDatabase();
    made.push(a, b);
    expect(a.url).not.toBe(b.url);
    await queryDatabase(a.url, 'CREATE TABLE only_in_a (x int)');
    const inB = await queryDatabase<{ n: string }>(
      b.url,
      "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'only_in_a'",
    );
    expect(Number(inB[0]?.n)).toBe(0);
    if (!process.env.GAZO_TEST_DATABASE_URL) {
      const settings = await queryDatabase<{ name: string; setting: string }>(
        a.url,
        "SELECT name, setting FROM pg_settings WHERE name IN ('listen_addresses', 'fsync', 'server_encoding')",
      );
      expect(Object.fromEntries(settings.map((s) => [s.name, s.setting]))).toEqual({
        fsync: 'off',
        listen_addresses: '127.0.0.1',
        server_encoding: 'UTF8',
      });
    }
  });
});
