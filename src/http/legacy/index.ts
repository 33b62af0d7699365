import type { Runtime } from '../../runtime.ts';
import type { GazoApp } from '../types.ts';
import { legacyUploadRoute } from './upload-cgi.ts';

/** The legacy desktop-client protocol (`/upload.cgi`): device ids, plain-text answers. */
export async function legacyRoutes(app: GazoApp, rt: Runtime) {
  legacyUploadRoute(app, rt);
}
