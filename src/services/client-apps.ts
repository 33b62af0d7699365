/** An OAuth application as easy_auth sees it: its public id and its name. */
export interface ClientApp {
  clientId: string;
  name: string;
}

/**
 * Finds registered applications by their public `client_id`. The OAuth applications (their table,
 * migration 0009) come with the OAuth provider; easy_auth needs only this lookup, so that either
 * can be built without the other. Until it is wired to that table, `NO_CLIENT_APPS` is used.
 */
export interface ClientApps {
  findByClientId(clientId: string): Promise<ClientApp | undefined>;
}

/** No applications are registered: every easy_auth upload is refused with 401. */
export const NO_CLIENT_APPS: ClientApps = { findByClientId: async () => undefined };

/** Applications known by a fixed list (tests, and a server embedding Gazo). */
export function fixedClientApps(apps: ClientApp[]): ClientApps {
  const byId = new Map(apps.map((app) => [app.clientId, app]));
  return { findByClientId: async (clientId) => byId.get(clientId) };
}
