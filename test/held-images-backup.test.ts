import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originalKey } from '../src/blobs/blob-store.ts';
import { backupDataDir } from '../src/services/backup.service.ts';
import { fixedClientApps } from '../src/services/client-apps.ts';
import { blobPath } from './helpers/data-dir.ts';
import { solidPng } from './helpers/images.ts';
import { makeDataDir, startServer, type TestServer } from './helpers/server.ts';
import { signedInCookie } from './helpers/web-session.ts';

const CLIENT_ID = 'backup-test-app';
const runtime = { clientApps: fixedClientApps([{ clientId: CLIENT_ID, name: 'Backup test' }]) };

describe('a backup taken while an easy_auth image waits for its claim', () => {
  let live: TestServer;
  let restored: TestServer | undefined;
  let dest: string;

  beforeAll(async () => {
    live = await startServer({}, undefined, { runtime });
    dest = await makeDataDir();
  });
  afterAll(async () => {
    await restored?.close();
    await live.close();
    await fs.rm(dest, { recursive: true, force: true });
  });

  it('carries the held image’s bytes, so that claiming it from the restored copy gives a whole image', async () => {
    const png = await solidPng(14, 9, '#13579b');
    const res = await fetch(`${live.url}/api/upload/easy_auth`, {
      method: 'POST',
      body: new URLSearchParams({
        client_id: CLIENT_ID,
        image_url: `data:image/png;base64,${png.toString('base64')}`,
      }),
    });
    const { get_image_url } = await res.json();
    const [blobKey] = await live.rt.store.heldImages.blobKeys();
    await backupDataDir(
      { store: live.rt.store, blobs: live.rt.blobs, thumbSize: live.config.thumbSize, dataDir: live.dataDir },
      dest,
    );
    await expect(fs.stat(blobPath(dest, originalKey(blobKey ?? '')))).resolves.toBeTruthy();

    await live.close();
    restored = await startServer({}, dest, { runtime });
    const user = await restored.user();
    const link = get_image_url.replace(live.url, restored.url);
    const claimed = await fetch(link, {
      redirect: 'manual',
      headers: { cookie: await signedInCookie(restored, user.name, user.password) },
    });
    expect(claimed.status).toBe(302);
    const raw = await fetch(`${claimed.headers.get('location')?.replace(live.url, restored.url)}.png`);
    expect(raw.status).toBe(200);
    expect(Buffer.from(await raw.arrayBuffer()).length).toBeGreaterThan(0);
  });
});
