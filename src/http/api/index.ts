import type { Runtime } from '../../runtime.ts';
import { handleError } from '../errors.ts';
import type { GazoApp } from '../types.ts';
import { registerApiCors } from './cors.ts';
import { deleteImageRoute } from './delete-image.ts';
import { easyAuthRoutes } from './easy-auth.ts';
import { getImageRoute } from './get-image.ts';
import { listImagesRoute } from './list-images.ts';
import { oembedRoute } from './oembed.ts';
import { patchImageRoute } from './patch-image.ts';
import { searchRoute } from './search.ts';
import { uploadRoute } from './upload.ts';
import { usersMeRoute } from './users-me.ts';

/**
 * The Gyazo API (`/api/*`): authenticated by access tokens only (header, query or body), never
 * by a cookie, so that a cross-site form post can never ride a browser session. Errors are JSON.
 * Browser apps on any origin may call it with their token (CORS without credentials, cors.ts).
 */
export async function apiRoutes(app: GazoApp, rt: Runtime) {
  app.setErrorHandler(handleError);
  registerApiCors(app);
  for (const route of [
    listImagesRoute,
    getImageRoute,
    patchImageRoute,
    deleteImageRoute,
    uploadRoute,
    searchRoute,
    usersMeRoute,
    oembedRoute,
  ]) {
    route(app, rt);
  }
  await app.register(async (scope) => easyAuthRoutes(scope, rt));
}
