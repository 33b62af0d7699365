import type { Runtime } from '../runtime.ts';
import type { GazoApp } from './types.ts';

export function serviceRoutes(app: GazoApp, _rt: Runtime) {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
