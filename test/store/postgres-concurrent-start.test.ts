import { afterEach, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/index.ts';
import type { MetadataStore } from '../../src/store/types.ts';
import { testDatabase } from '../helpers/postgres.ts';

/** Any process may start at any time: several starting at once on a new database all come up. */
const opened: MetadataStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

it('migrates a new PostgreSQL database once when several processes start on it at the same time', async () => {
  const database = await testDatabase();
  const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(database.url)));
  opened.push(...stores);
  await stores[0]?.users.create({ uid: 'u', name: 'alice', email: null, passwordHash: null });
  for (const store of stores) expect((await store.users.list()).map((u) => u.name)).toEqual(['alice']);
  expect(await stores[1]?.integrity.dataDirId()).toBe(await stores[3]?.integrity.dataDirId());
  for (const store of opened.splice(0)) await store.close();
  await database.drop();
});
