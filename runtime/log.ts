/**
 * Structured logs: pino writing JSON lines to stderr, so stdout stays free
 * for what the CLI prints to people. Components get a child logger with their
 * own bindings (`component`, `fn`, `requestId`).
 * @module
 */
import pino from "pino";
import type { Logger } from "../core/mod.ts";

/** The one logger type of Virgo (`core/logger.ts`) and a logger that drops everything. */
export { childLogger, type Logger, silentLogger } from "../core/mod.ts";

/**
 * Creates the peer's root logger.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: "info" });
 * childLogger(log, { component: "mesh" }).info({ peers: 3 }, "Mesh ready");
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
