/**
 * The logger `kv/` takes: a pino-compatible subset, handed in by the runtime.
 *
 * @module
 */

/**
 * A pino-compatible logger: structured fields first, then an optional message.
 *
 * @example
 * ```ts
 * logger.warn({ peer, err }, "hint delivery failed");
 * ```
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * A logger that drops everything; the default in tests and benches.
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
};
