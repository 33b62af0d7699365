import type { MetadataStore } from '../store/types.ts';

/** An OAuth application as easy_auth sees it: its public id and its name. */
export interface ClientApp {
  clientId: string;
  name: string;
}

/**
 * Finds registered applications by their public `client_id`: easy_auth needs only this of the
 * OAuth applications (migration 0009), so that a test or an embedding program can give its own.
 */
export interface ClientApps {
  findByClientId(clientId: string): Promise<ClientApp | undefined>;
}

/** The applications users registered (the Applications page, `gazo app create`). */
export function registeredClientApps(store: MetadataStore): ClientApps {
  return {
    async findByClientId(clientId) {
      const app = await store.oauth.findAppByClientId(clientId);
      return app && { clientId: app.client_id, name: app.name };
    },
  };
}

/** Applications known by a fixed list (tests, and a server embedding Gazo). */
export function fixedClientApps(apps: ClientApp[]): ClientApps {
  const byId = new Map(apps.map((app) => [app.clientId, app]));
  return { findByClientId: async (clientId) => byId.get(clientId) };
}
