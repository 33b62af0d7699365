import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { TooManyRequests } from './errors.ts';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
/**
 * Addresses or credentials each limiter remembers, least recently seen forgotten first (the
 * store takes `cache` though its types do not list it). The plugin's 5000 would let a client
 * with many addresses push its own counts out; 100,000 entries are a few MB at most.
 */
const ENTRIES = 100_000;

/**
 * The limits every authentication passes through (auth.ts): failed authentications per client
 * address, and a request budget per credential. Counted in this process's memory by
 * @fastify/rate-limit's store; each is off when its setting is 0.
 */
export interface AuthLimits {
  /**
   * Whether an authentication that succeeds needs no limit now: no per-credential budget, and no
   * address can be over its failures. A caller that knows the credential at once may then skip
   * the other three.
   */
  idle(): boolean;
  /** Refuses (429) an address that has used up its failed authentications, before any check. */
  beforeCheck(request: FastifyRequest): Promise<void>;
  /** Counts a failed authentication against the client's address; logs when it hits the limit. */
  failed(request: FastifyRequest): Promise<void>;
  /** Counts a request against a credential's daily budget; 429 once it is spent. */
  spend(request: FastifyRequest, credentialKey: string): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    authLimits: AuthLimits;
  }
}

export async function registerAuthLimits(app: FastifyInstance, limits: Config['rateLimits']) {
  await app.register(rateLimit, { global: false });
  const maxFailures = limits.maxAuthFailuresPerMinute;
  // Keyed by the client address as --trust-proxy decides it (IPv6 by /64, the plugin's default).
  const failureOptions = { max: maxFailures, timeWindow: MINUTE_MS, cache: ENTRIES };
  const failures = maxFailures > 0 ? app.createRateLimit(failureOptions) : undefined;

  const budgetMax = limits.maxRequestsPerTokenPerDay;
  const credentialOf = new WeakMap<FastifyRequest, string>();
  const budgetOptions = {
    max: budgetMax,
    timeWindow: DAY_MS,
    keyGenerator: (request: FastifyRequest) => credentialOf.get(request) ?? '',
    cache: ENTRIES,
  };
  const budget = budgetMax > 0 ? app.createRateLimit(budgetOptions) : undefined;

  // When no authentication has failed anywhere for a whole window (and a second, for the store's
  // own timing), no address can be over the limit: the lookup (the client's address, the store)
  // is skipped on every request then. (Failures are counted only while that limit is on.)
  let lastFailureAt = Number.NEGATIVE_INFINITY;

  const failedLately = () => Date.now() - lastFailureAt <= MINUTE_MS + 1000;

  app.decorate<AuthLimits>('authLimits', {
    idle: () => !budget && !failedLately(),

    async beforeCheck(request) {
      if (!failures || !failedLately()) return;
      const state = await failures(request, { increment: false });
      if (state.isAllowed || state.remaining > 0) return;
      throw new TooManyRequests(
        `Too many failed authentications from your address; try again in ${state.ttlInSeconds} s`,
        state.ttlInSeconds,
      );
    },

    async failed(request) {
      if (!failures) return;
      lastFailureAt = Date.now();
      const state = await failures(request);
      // Exactly once per window and address: the failure that uses up the allowance.
      if (!state.isAllowed && !state.isExceeded && state.remaining === 0) {
        request.log.warn(
          { clientAddress: state.key, failures: maxFailures, windowSeconds: MINUTE_MS / 1000 },
          `too many failed authentications: refusing credentials from this address for ${state.ttlInSeconds} s`,
        );
      }
    },

    async spend(request, credentialKey) {
      if (!budget) return;
      credentialOf.set(request, credentialKey);
      const state = await budget(request);
      if (state.isAllowed || !state.isExceeded) return;
      const hours = Math.ceil(state.ttlInSeconds / 3600);
      throw new TooManyRequests(
        `This access token has used its ${budgetMax} requests for today; try again in ${hours} h`,
        state.ttlInSeconds,
      );
    },
  });
}
