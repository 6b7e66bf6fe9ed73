/**
 * The console of `virgo dev`: the peer's log as lines for a person rather
 * than JSON — what the function prints, and warnings and errors of the peer
 * (everything with `--verbose`) — with stack frames of the bundle mapped back
 * to the function's files.
 * @module
 */
import type { Logger } from "../log.ts";

type Level = "debug" | "info" | "warn" | "error";

/** Options of {@linkcode devLogger}. */
export interface DevLoggerInit {
  /** Where lines go. @default {stderr} */
  write?: (line: string) => void;
  /** Also the peer's own info and debug lines. @default {false} */
  verbose?: boolean;
  /** Rewrites text before it is shown (maps stack frames). @default {identity} */
  mapText?: (text: string) => string;
}

const enc = new TextEncoder();
const stderr = (line: string) => Deno.stderr.writeSync(enc.encode(line + "\n"));

function clock(): string {
  return new Date().toISOString().slice(11, 23);
}

function fieldText(v: unknown): string {
  return typeof v === "string" ? (/[\s"]/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v);
}

/**
 * A {@linkcode Logger} that writes `virgo dev`'s console.
 *
 * @example
 * ```ts
 * const logger = devLogger({ mapText: (t) => t });
 * logger.info({ fn: "hello", level: "log" }, "hi"); // 12:00:01.234 [hello] hi
 * ```
 */
export function devLogger(
  init: DevLoggerInit = {},
  bindings: Record<string, unknown> = {},
): Logger {
  const write = init.write ?? stderr;
  const map = init.mapText ?? ((t: string) => t);
  const log = (level: Level) => (obj: object, msg?: string) => {
    const rec: Record<string, unknown> = { ...bindings, ...obj };
    const fn = rec.fn;
    const ownLevel = typeof rec.level === "string" ? rec.level : level;
    if (typeof fn === "string" && msg !== undefined && typeof rec.level === "string") {
      // A line the function printed.
      const tag = ownLevel === "error" || ownLevel === "warn" ? `${ownLevel} ` : "";
      write(map(`${clock()} [${fn}] ${tag}${msg}`));
      return;
    }
    if (level === "debug" && !init.verbose) return;
    if (level === "info" && !init.verbose && typeof fn !== "string") return;
    const { component, ...rest } = rec;
    const fields = Object.entries(rest).map(([k, v]) => `${k}=${fieldText(v)}`).join(" ");
    const where = typeof component === "string" ? `${component}: ` : "";
    write(map(`${clock()} ${level.padEnd(5)} ${where}${msg ?? ""}${fields ? "  " + fields : ""}`));
  };
  return {
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    child: (more) => devLogger(init, { ...bindings, ...more }),
  };
}
