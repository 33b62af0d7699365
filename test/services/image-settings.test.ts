import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/services/principal.ts';
import { uploadOk } from '../helpers/api.ts';
import { solidPng } from '../helpers/images.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

/** ImagesService.updateSettings, as the image page (another route group) calls it. */
describe('ImagesService.updateSettings', () => {
  let server: TestServer;
  let owner: { token: string; id: number };
  let principal: Principal;

  const version = async (userId: number) => (await server.rt.store.users.findById(userId))?.images_version;

  beforeAll(async () => {
    server = await startServer();
    owner = await server.user();
    const found = await server.rt.accounts.authenticateToken(owner.token);
    if (!found) throw new Error('no principal');
    principal = found;
  });
  afterAll(() => server.close());

  it("switches the owner's access_policy and metadata_is_public, bumping images_version each time", async () => {
    const image = await uploadOk(server, owner.token, await solidPng(3, 3, '#102030'), { title: 'kept' });
    const v0 = await version(owner.id);
    const hidden = await server.rt.images.updateSettings(principal, image.image_id, {
      accessPolicy: 'only_me',
    });
    expect(hidden).toMatchObject({ access_policy: 'only_me', metadata_is_public: false, title: 'kept' });
    expect(await version(owner.id)).toBe((v0 ?? 0) + 1);
    const shown = await server.rt.images.updateSettings(principal, image.image_id, {
      accessPolicy: 'anyone',
      metadataIsPublic: true,
    });
    expect(shown).toMatchObject({ access_policy: 'anyone', metadata_is_public: true, title: 'kept' });
    expect(await version(owner.id)).toBe((v0 ?? 0) + 2);
  });

  it("refuses another user's image as not found, an unknown policy and nothing to change as 400", async () => {
    const other = await server.user();
    const theirs = await uploadOk(server, other.token, await solidPng(3, 3, '#302010'));
    const before = await version(other.id);
    await expect(
      server.rt.images.updateSettings(principal, theirs.image_id, { accessPolicy: 'only_me' }),
    ).rejects.toMatchObject({ status: 404 });
    expect((await server.rt.store.images.findByImageId(theirs.image_id))?.access_policy).toBe('anyone');
    expect(await version(other.id)).toBe(before);

    const mine = await uploadOk(server, owner.token, await solidPng(3, 3, '#203010'));
    const policy = 'public' as 'anyone';
    await expect(
      server.rt.images.updateSettings(principal, mine.image_id, { accessPolicy: policy }),
    ).rejects.toMatchObject({ status: 400 });
    await expect(server.rt.images.updateSettings(principal, mine.image_id, {})).rejects.toMatchObject({
      status: 400,
    });
  });
});
