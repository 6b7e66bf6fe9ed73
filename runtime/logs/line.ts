/**
 * One line of a function's log: what a function printed, or what happened to it (an uncaught
 * exception, a timeout, a memory kill, a deploy), with its level, the call it belongs to when
 * known, and when and where it happened.
 *
 * @module
 */
import { z } from "zod";

/** Levels of a log line, lowest first. */
export const LEVELS = ["debug", "info", "warn", "error"] as const;

/** A log line's level. */
export type Level = typeof LEVELS[number];

/**
 * Where a line comes from: `function` for the function's own console output, `runtime` for what
 * Virgo saw happen to it (exceptions, timeouts, kills, deploys, rollbacks, deletes).
 */
export type Source = "function" | "runtime";

/**
 * A line as a peer keeps it in its ring: `seq` orders the lines of one peer (it grows for as
 * long as the peer runs), `t` is the wall clock in ms when the peer saw it.
 *
 * @example
 * ```ts
 * const line: LogLine = { seq: 1, t: Date.now(), fn: "hello", level: "info", source: "function", msg: "hi" };
 * ```
 */
export interface LogLine {
  seq: number;
  t: number;
  fn: string;
  /** The function's version that ran, when one did. */
  version?: string;
  level: Level;
  source: Source;
  /** The call it belongs to, when known. */
  requestId?: string;
  msg: string;
}

/** What is appended to a ring: a line before it is numbered. */
export type NewLogLine = Omit<LogLine, "seq" | "t"> & { t?: number };

/**
 * A line as `GET /v1/logs/:fn` returns it: merged from every member, each with the peer it came
 * from and its time in ISO 8601.
 *
 * @example
 * ```ts
 * { "time": "2026-11-28T10:00:00.000Z", "peer": "12D3…", "fn": "hello", "level": "error",
 *   "source": "runtime", "requestId": "a1b2c3-…", "msg": "Uncaught exception: Error: boom …" }
 * ```
 */
export type PeerLogLine = Omit<LogLine, "seq" | "t"> & { time: string; peer: string };

/** A line on the wire between members; checked when it arrives. */
export const LogLineSchema = z.object({
  seq: z.number().int().nonnegative(),
  t: z.number().nonnegative(),
  fn: z.string().max(64),
  version: z.string().max(64).optional(),
  level: z.enum(LEVELS),
  source: z.enum(["function", "runtime"]),
  requestId: z.string().max(128).optional(),
  msg: z.string().max(64 * 1024),
});

/** A line as `GET /v1/logs/:fn` gives it, for its reference. */
export const PeerLogLineSchema = z.object({
  time: z.string().describe("when the peer saw it, ISO 8601"),
  peer: z.string().describe("the peer it came from"),
  fn: z.string(),
  version: z.string().optional().describe("the version that ran"),
  level: z.enum(LEVELS),
  source: z.enum(["function", "runtime"]).describe(
    "function: its console output; runtime: what befell it (exceptions, timeouts, kills, deploys)",
  ),
  requestId: z.string().optional().describe("the call it belongs to"),
  msg: z.string(),
});

/** A line as the route gives it out, with the peer that sent it. */
export function toPeerLine(peer: string, l: LogLine): PeerLogLine {
  const out: PeerLogLine = {
    time: new Date(l.t).toISOString(),
    peer,
    fn: l.fn,
    level: l.level,
    source: l.source,
    msg: l.msg,
  };
  if (l.version !== undefined) out.version = l.version;
  if (l.requestId !== undefined) out.requestId = l.requestId;
  return out;
}
