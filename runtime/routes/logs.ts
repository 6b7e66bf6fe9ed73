/**
 * `GET /v1/logs/:fn`: a function's log from every member that ran it, merged in time order —
 * JSON lines, or with `follow=1` server-sent events (`event: log`, one line as JSON each) that
 * go on as lines arrive. `since` is an ISO 8601 time or a duration back from now (`10m`).
 * @module
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { VirgoError } from "../errors.ts";
import type { Registry } from "../catalog/mod.ts";
import { KEEPALIVE_MS, MAX_FOLLOWS, type MeshLogs, parseSince } from "../logs/mod.ts";
import { route } from "../openapi/mod.ts";
import { FunctionName } from "./functions.ts";

/** Query of `GET /v1/logs/:fn`. */
export const LogsQuerySchema = z.object({
  since: z.string().max(64).optional().describe(
    "from this long ago (10m, 1h30m, 90s) or this ISO 8601 time; default: every line kept",
  ),
  follow: z.enum(["0", "1", "true", "false"]).optional().describe(
    "1: answer server-sent events, and go on as lines arrive",
  ),
  limit: z.coerce.number().int().min(1).max(10_000).optional().describe(
    "the newest this many lines (before following); default 1000",
  ),
}).strict();

/** Routes of the function logs. */
export function logRoutes(logs: MeshLogs, registry: Pick<Registry, "get">): Hono {
  const app = new Hono();
  let follows = 0;
  route(app, "get", "/:fn", {
    summary: "A function's log from every peer, in time order",
    description: "Each line is JSON with its time, peer, level, source, request id and text " +
      "(a function's console output, its uncaught exceptions with their stack, timeouts, " +
      "memory kills, deploys, rollbacks and deletes). Without `follow`, JSON lines " +
      "(application/x-ndjson); with `follow=1`, server-sent events (text/event-stream), one " +
      "`event: log` per line, as lines arrive on any member.",
    tag: "logs",
    params: z.object({ fn: FunctionName }),
    query: LogsQuerySchema,
    responses: {
      200: {
        description: "One line per log line, as JSON (or server-sent events with follow=1)",
        media: "application/x-ndjson",
      },
    },
    errors: [404, 503],
  }, async (c, { params: { fn }, query: q }) => {
    const since = q.since === undefined ? undefined : parseSince(q.since);
    const follow = q.follow === "1" || q.follow === "true";
    const known = registry.get(fn) !== undefined;
    if (!follow) {
      const lines = await logs.read(fn, { since, limit: q.limit, signal: c.req.raw.signal });
      // A deleted function's lines are still shown while kept; a name never seen is a typo.
      if (!known && lines.length === 0) {
        throw new VirgoError("FUNCTION_NOT_FOUND", `No function named ${fn}`);
      }
      const body = lines.map((l) => JSON.stringify(l) + "\n").join("");
      return c.body(body, 200, { "content-type": "application/x-ndjson" });
    }
    if (!known) throw new VirgoError("FUNCTION_NOT_FOUND", `No function named ${fn}`);
    if (follows >= MAX_FOLLOWS) {
      throw new VirgoError("OVERLOADED", `This peer follows ${MAX_FOLLOWS} logs already`);
    }
    follows++;
    const stop = new AbortController();
    c.req.raw.signal.addEventListener("abort", () => stop.abort(), { once: true });
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => stop.abort());
      let last = Date.now();
      try {
        for await (
          const lines of logs.follow(fn, { since, limit: q.limit, signal: stop.signal })
        ) {
          for (const l of lines) await stream.writeSSE({ event: "log", data: JSON.stringify(l) });
          if (lines.length > 0) last = Date.now();
          else if (Date.now() - last >= KEEPALIVE_MS) {
            await stream.write(": keep-alive\n\n");
            last = Date.now();
          }
        }
      } finally {
        follows--;
        stop.abort();
      }
    });
  });
  return app;
}
