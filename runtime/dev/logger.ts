/**
 * The console of `virgo dev`: the function's log (`GET /v1/logs/<fn>?follow=1`:
 * what it prints, its uncaught exceptions with their stack, timeouts, kills)
 * and the peer's warnings and errors (everything with `--verbose`), as lines
 * for a person rather than JSON, with stack frames of the bundle mapped back
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
 * logger.warn({ component: "kv" }, "Hint delivery failed"); // 12:00:01.234 warn  kv: Hint …
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
    // A function's own lines come from its log (`followFunctionLog`), not from here.
    if (!init.verbose && (level === "debug" || level === "info" || rec.fn !== undefined)) return;
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

/**
 * Prints function `name`'s log as it arrives, from the peer's `GET /v1/logs/<name>?follow=1`
 * (server-sent events), from `since` on, until `signal` aborts. Runtime lines (deploys and the
 * like) show only at warn and error: `virgo dev` says itself when it reloads.
 *
 * @example
 * ```ts
 * followFunctionLog(peer.app.fetch, "hello", new Date(), { write: console.log }, signal);
 * ```
 */
export async function followFunctionLog(
  fetch: (req: Request) => Response | Promise<Response>,
  name: string,
  since: Date,
  init: DevLoggerInit,
  signal: AbortSignal,
): Promise<void> {
  const write = init.write ?? stderr;
  const map = init.mapText ?? ((t: string) => t);
  const q = `since=${encodeURIComponent(since.toISOString())}&follow=1&limit=10000`;
  const res = await fetch(
    new Request(`http://dev/v1/logs/${encodeURIComponent(name)}?${q}`, { signal }),
  );
  if (!res.ok || !res.body) return;
  let buf = "";
  try {
    for await (const chunk of res.body.pipeThrough(new TextDecoderStream())) {
      buf += chunk;
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const event = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = event.split("\n").filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
        if (!data) continue;
        let line: { time?: string; level?: string; source?: string; msg?: string };
        try {
          line = JSON.parse(data);
        } catch {
          continue;
        }
        const level = line.level ?? "info";
        const loud = level === "error" || level === "warn";
        if (line.source === "runtime" && !loud && !init.verbose) continue;
        const time = line.time ? line.time.slice(11, 23) : clock();
        write(map(`${time} [${name}] ${loud ? level + " " : ""}${line.msg ?? ""}`));
      }
    }
  } catch {
    // Stopped (signal), or the peer went away.
  }
}
