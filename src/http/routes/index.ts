import type { Runtime } from '../../runtime.ts';
import type { GazoApp } from '../app.ts';
import { deleteImageRoute } from './delete-image.ts';
import { getImageRoute } from './get-image.ts';
import { imageFileRoutes } from './image-files.ts';
import { legacyUploadRoute } from './legacy-upload.ts';
import { listImagesRoute } from './list-images.ts';
import { oembedRoute } from './oembed.ts';
import { searchRoute } from './search.ts';
import { serviceRoutes } from './service.ts';
import { uploadRoute } from './upload.ts';
import { usersMeRoute } from './users-me.ts';

export function registerRoutes(app: GazoApp, rt: Runtime) {
  for (const route of [
    listImagesRoute,
    getImageRoute,
    deleteImageRoute,
    uploadRoute,
    searchRoute,
    usersMeRoute,
    oembedRoute,
    legacyUploadRoute,
    imageFileRoutes,
    serviceRoutes,
  ]) {
    route(app, rt);
  }
}
