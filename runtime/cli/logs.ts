/**
 * `virgo logs <fn> [--follow] [--since 10m] [--json]`: a function's log from every peer that ran
 * it, merged in time order, each line with its peer, level and request id; `--follow` keeps
 * printing lines as they come (server-sent events from `GET /v1/logs/:fn?follow=1`).
 * @module
 */
import type { Command } from "commander";
import { clientFor, jsonOption, peerOptions } from "./_shared.ts";

/** A line as `GET /v1/logs/:fn` gives it. */
interface Line {
  time: string;
  peer: string;
  fn: string;
  version?: string;
  level: string;
  source: string;
  requestId?: string;
  msg: string;
}

/**
 * One line for people: time, peer (the end of its id, as request ids begin), level, request
 * id, then the text; a multi-line text (a stack) indented under it.
 *
 * @example
 * ```ts
 * formatLine({ time: "2026-11-28T10:00:00.000Z", peer: "12D3…QAJU5SA", fn: "hello", level: "error",
 *   source: "function", requestId: "AJU5SA-q3v9x0bm-1", msg: "boom" });
 * // "2026-11-28T10:00:00.000Z AJU5SA ERROR AJU5SA-q3v9x0bm-1 boom"
 * ```
 */
export function formatLine(l: Line): string {
  const head = `${l.time} ${l.peer.slice(-6)} ${l.level.toUpperCase().padEnd(5)} ${
    l.requestId ?? "-"
  }`;
  return `${head} ${l.msg.replaceAll("\n", "\n    ")}`;
}

/** Lines of a text stream, as they complete. */
async function* linesOf(body: ReadableStream<Uint8Array>): AsyncIterable<string> {
  let buf = "";
  for await (const text of body.pipeThrough(new TextDecoderStream())) {
    buf += text;
    const parts = buf.split("\n");
    buf = parts.pop()!;
    yield* parts;
  }
  if (buf) yield buf;
}

/** The data of each `log` event of a server-sent event stream. */
async function* sseData(body: ReadableStream<Uint8Array>): AsyncIterable<string> {
  let event = "message";
  let data: string[] = [];
  for await (const line of linesOf(body)) {
    if (line === "") {
      if (event === "log" && data.length > 0) yield data.join("\n");
      event = "message";
      data = [];
    } else if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
}

/** Registers `virgo logs` on `program`. */
export function logsCommand(program: Command): void {
  jsonOption(peerOptions(program.command("logs")))
    .description(
      "show a function's log from every peer, in time order (peer, level, request id, text)",
    )
    .argument("<fn>")
    .option("-f, --follow", "keep printing lines as they come")
    .option("--since <time>", "from this long ago (10m, 1h30m) or this ISO 8601 time")
    .option("--limit <n>", "at most this many lines before following (the newest)")
    .action(async (
      fn: string,
      o: { follow?: boolean; since?: string; limit?: string; json?: boolean },
      cmd: Command,
    ) => {
      const q = new URLSearchParams();
      if (o.since !== undefined) q.set("since", o.since);
      if (o.limit !== undefined) q.set("limit", o.limit);
      if (o.follow) q.set("follow", "1");
      const path = `/v1/logs/${encodeURIComponent(fn)}${q.size ? `?${q}` : ""}`;
      const res = await (await clientFor(cmd)).fetch(path, {
        headers: { accept: o.follow ? "text/event-stream" : "application/x-ndjson" },
      });
      if (!res.body) return;
      const out = new TextEncoder();
      const lines = o.follow ? sseData(res.body) : linesOf(res.body);
      for await (const raw of lines) {
        if (!raw.trim()) continue;
        const text = o.json ? raw : formatLine(JSON.parse(raw) as Line);
        await Deno.stdout.write(out.encode(text + "\n"));
      }
    });
}
