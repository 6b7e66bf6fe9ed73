/**
 * Structured logs: pino writing JSON lines to stderr, so stdout stays free
 * for what the CLI prints to people. Components get a child logger with their
 * own bindings (`component`, `fn`, `requestId`).
 * @module
 */
import pino from "pino";

/** The logger every component takes: the pino subset we use. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/**
 * Creates the peer's root logger.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: "info" });
 * log.child({ component: "mesh" }).info({ peers: 3 }, "Mesh ready");
 * ```
 */
export function createLogger(
  opts: { level?: string; bindings?: Record<string, unknown> } = {},
): Logger {
  return pino(
    { level: opts.level ?? Deno.env.get("VIRGO_LOG") ?? "info", base: opts.bindings ?? {} },
    pino.destination(2),
  ) as unknown as Logger;
}

/** A logger that drops everything, for tests and tools. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
