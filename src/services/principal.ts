import type { UserRow } from '../store/schema.ts';
import type { ImageOwner } from '../store/types.ts';

/** What an access token may do. `public`: read, edit and delete the user's images; `upload`: upload. */
export type Scope = 'public' | 'upload';
export const SCOPES: readonly Scope[] = ['public', 'upload'];

/** How the caller proved who they are; `local` is the operator's own commands (export, import). */
export type AuthMethod = 'token' | 'session' | 'device' | 'local';

/**
 * Who is asking, as authentication found them: a user, how they signed in, and for a token
 * granted to an OAuth application, the app and its scopes. Services decide with this alone.
 */
export interface Principal {
  readonly userId: number;
  readonly uid: string;
  readonly name: string;
  readonly email: string | null;
  readonly isAdmin: boolean;
  readonly via: AuthMethod;
  /** The OAuth application a token was granted to; null for personal tokens, sessions and devices. */
  readonly appId: number | null;
  readonly scopes: ReadonlySet<Scope>;
  /** Read with the credential (and cached with it): what a listing is counted and cached by. */
  readonly imageCount: number;
  readonly imagesVersion: number;
}

/** Scopes as stored (space-separated); unknown words are dropped, never granted. */
export function parseScopes(text: string): Set<Scope> {
  return new Set(text.split(/\s+/).filter((s): s is Scope => (SCOPES as string[]).includes(s)));
}

export function principalOf(
  user: UserRow,
  via: AuthMethod,
  grant: { appId?: number | null; scopes?: string | null } = {},
): Principal {
  return {
    userId: user.id,
    uid: user.uid,
    name: user.name,
    email: user.email,
    isAdmin: user.is_admin === 1,
    via,
    appId: grant.appId ?? null,
    scopes: grant.scopes == null ? new Set(SCOPES) : parseScopes(grant.scopes),
    imageCount: user.image_count,
    imagesVersion: user.images_version,
  };
}

/** The owner as the image repository counts and caches pages by. */
export const imageOwner = (p: Principal): ImageOwner => ({
  id: p.userId,
  image_count: p.imageCount,
  images_version: p.imagesVersion,
});
