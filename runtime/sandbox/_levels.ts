/**
 * The level of each console method, as a function's output is logged. Imported by the child:
 * it imports nothing.
 *
 * @module
 */

/** A function log line's level. */
export type ConsoleLevel = "debug" | "info" | "warn" | "error";

/**
 * Console methods that print, by the level they print at: `debug` and `trace` are debug; `log`,
 * `info`, `dir`, `dirxml` and `table` are info; `warn` is warn; `error` is error. (`assert`,
 * `count` and `time*` are handled apart: a failed assert is error, the others info.)
 */
export const CONSOLE_LEVELS: Readonly<Record<string, ConsoleLevel>> = {
  debug: "debug",
  trace: "debug",
  log: "info",
  info: "info",
  dir: "info",
  dirxml: "info",
  table: "info",
  warn: "warn",
  error: "error",
};
