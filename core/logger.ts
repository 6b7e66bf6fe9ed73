/**
 * The one logger type of Virgo: the pino subset every part takes. The peer's
 * root logger is pino (`runtime/log.ts`); tests hand in plain objects.
 *
 * @module
 */

/**
 * Structured fields first, then an optional message, as pino takes them.
 *
 * @example
 * ```ts
 * logger.warn({ peer, err: String(err) }, "Hint delivery failed");
 * ```
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  /** pino's own: a logger adding `bindings` to every line. Use {@link childLogger}, which works without it. */
  child?(bindings: Record<string, unknown>): Logger;
}

/**
 * A logger that drops everything; the default in tests and tools.
 *
 * @example
 * ```ts
 * const pool = createPool({ ...init, logger: silentLogger });
 * ```
 */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/**
 * A logger that adds `bindings` to every line of `logger`: its own `child`
 * when it has one (pino), else a wrapper that merges them into each line.
 *
 * @example
 * ```ts
 * const log = childLogger(root, { component: "mesh" });
 * log.info({ peers: 3 }, "Mesh ready"); // logged with component: "mesh"
 * ```
 */
export function childLogger(logger: Logger, bindings: Record<string, unknown>): Logger {
  if (logger.child) return logger.child(bindings);
  const at = (level: "debug" | "info" | "warn" | "error") => (obj: object, msg?: string) =>
    logger[level]({ ...bindings, ...obj }, msg);
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (more) => childLogger(logger, { ...bindings, ...more }),
  };
}
