/**
 * The logger `kv/` takes: the one logger type of Virgo (`core/logger.ts`),
 * handed in by the runtime, and a silent one for tests and benches.
 *
 * @module
 */
export { type Logger, silentLogger } from "../core/mod.ts";
