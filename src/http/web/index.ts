import type { Runtime } from '../../runtime.ts';
import type { GazoApp } from '../types.ts';
import { imageFileRoutes } from './image-files.ts';

/** What a browser opens: pages, and the image files and thumbnails they show. */
export async function webRoutes(app: GazoApp, rt: Runtime) {
  imageFileRoutes(app, rt);
}
