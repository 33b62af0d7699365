import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';

type ChildLoggerFactory = NonNullable<FastifyServerOptions['childLoggerFactory']>;
type Bindings = Parameters<ChildLoggerFactory>[1];

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
const BINDINGS = Symbol('bindings');
const CHILD = Symbol('child');

interface LazyChild {
  [BINDINGS]: Bindings;
  [CHILD]?: FastifyBaseLogger;
}

/** The request's real child logger, made at the first line it logs. */
function childOf(lazy: LazyChild, logger: FastifyBaseLogger): FastifyBaseLogger {
  lazy[CHILD] ??= logger.child(lazy[BINDINGS]);
  return lazy[CHILD];
}

/**
 * Fastify gives every request a pino child logger bound to its id, and pino builds a child by
 * serialising those bindings: 2 % of a cached list page's CPU (perf), made even at the default
 * level `warn`, where almost no request logs a line. Here a request gets an object that inherits
 * everything from the server's logger (its level, its disabled methods), and the child is made
 * only when the request logs at a level that is on, so every line still carries its `reqId`.
 */
export const lazyChildLoggerFactory: ChildLoggerFactory = (logger, bindings, options) => {
  // A route's own level or serializers, or not pino: the logger's own child.
  const proto = prototypeFor(logger);
  if (!proto || options.level !== undefined || options.serializers !== undefined)
    return logger.child(bindings, options);
  const lazy = Object.create(proto) as LazyChild;
  lazy[BINDINGS] = bindings;
  return lazy as unknown as FastifyBaseLogger;
};

const prototypes = new WeakMap<FastifyBaseLogger, object>();

/**
 * One prototype per server logger: its methods for the levels that are on make the child first.
 * Made once, from the level the server was started with (Gazo never changes it while running).
 */
function prototypeFor(logger: FastifyBaseLogger & { isLevelEnabled?(level: string): boolean }) {
  const proto = prototypes.get(logger);
  if (proto) return proto;
  // Not pino (a logger of the caller's own): children made as it makes them.
  if (typeof logger.isLevelEnabled !== 'function') return undefined;
  const methods: Record<string, (this: LazyChild, ...args: unknown[]) => unknown> = {
    child(this: LazyChild, ...args: unknown[]) {
      const child = childOf(this, logger);
      return (child.child as (...a: unknown[]) => unknown).apply(child, args);
    },
  };
  for (const level of LEVELS) {
    // A level that is off keeps the logger's own no-op.
    if (!logger.isLevelEnabled(level)) continue;
    methods[level] = function (this: LazyChild, ...args: unknown[]) {
      const child = childOf(this, logger);
      return (child[level] as (...a: unknown[]) => unknown).apply(child, args);
    };
  }
  const made: object = Object.assign(Object.create(logger), methods);
  prototypes.set(logger, made);
  return made;
}
