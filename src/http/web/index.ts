import type { Runtime } from '../../runtime.ts';
import type { GazoApp } from '../types.ts';
import { assetRoutes } from './assets.ts';
import { webErrorHandler } from './errors.ts';
import { imageFileRoutes } from './image-files.ts';
import { accountRoutes } from './pages/account.ts';
import { adminRoutes } from './pages/admin.ts';
import { applicationsRoutes } from './pages/applications.ts';
import { deviceLinkRoutes } from './pages/device-link.ts';
import { devicesRoutes } from './pages/devices.ts';
import { easyAuthClaimRoutes } from './pages/easy-auth-claim.ts';
import { homeRoutes } from './pages/home.ts';
import { imageActionRoutes } from './pages/image-actions.ts';
import { myImagesRoutes } from './pages/my-images.ts';
import { oauthAuthorizeRoutes } from './pages/oauth-authorize.ts';
import { signInRoutes } from './pages/sign-in.ts';
import { signUpRoutes } from './pages/sign-up.ts';
import { uploadRoutes } from './pages/upload.ts';
import { registerWebSecurity } from './security.ts';

/**
 * What a browser opens: pages, and the image files and thumbnails they show. Signed in by a
 * session cookie; every state-changing request carries a CSRF token; errors are HTML pages.
 */
export async function webRoutes(app: GazoApp, rt: Runtime) {
  await registerWebSecurity(app, rt);
  app.setErrorHandler(webErrorHandler(rt));
  assetRoutes(app);
  homeRoutes(app, rt);
  myImagesRoutes(app, rt);
  signInRoutes(app, rt);
  oauthAuthorizeRoutes(app, rt);
  applicationsRoutes(app, rt);
  signUpRoutes(app, rt);
  accountRoutes(app, rt);
  adminRoutes(app, rt);
  uploadRoutes(app, rt);
  imageFileRoutes(app, rt);
  easyAuthClaimRoutes(app, rt);
  devicesRoutes(app, rt);
  deviceLinkRoutes(app, rt);
  imageActionRoutes(app, rt);
}
