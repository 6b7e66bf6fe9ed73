/**
 * Function logs across the mesh: every member answers, over {@linkcode LOGS_PROTOCOL}, with its
 * lines of one function since a time or after a cursor; the peer a client asks merges the
 * answers of every member in time order, each line with the peer it came from. A follow asks
 * each member for what is new every {@linkcode FOLLOW_POLL_MS}, from a cursor per member.
 * Like every protocol of the mesh, only members are answered (`p2p/mesh.ts` checks).
 *
 * @module
 */
import { z } from "zod";
import type { Mesh } from "../../p2p/mod.ts";
import { FUNCTION_NAME } from "../constants.ts";
import type { Logger } from "../log.ts";
import {
  FOLLOW_POLL_MS,
  LOGS_PROTOCOL,
  MAX_REPLY_BYTES,
  MEMBER_TIMEOUT_MS,
  RING_LINES,
} from "./constants.ts";
import { type LogLine, LogLineSchema, type PeerLogLine, toPeerLine } from "./line.ts";
import type { LogStore } from "./ring.ts";

/** The part of the mesh the logs use (any list of members will do for `peers`). */
export interface LogsNet extends Pick<Mesh, "peerId" | "request" | "handle"> {
  peers(): Array<{ peerId: string }>;
}

/** What {@linkcode createMeshLogs} is built from. */
export interface MeshLogsInit {
  net: LogsNet;
  store: LogStore;
  logger: Logger;
  /** How often a follow polls each member. @default {FOLLOW_POLL_MS} */
  pollMs?: number;
}

/** Which lines to read: since a time, the newest `limit` of them. */
export interface ReadOptions {
  /** ms since the epoch. @default {everything kept} */
  since?: number | undefined;
  /** Most lines of the merged answer (the newest). @default {RING_LINES} */
  limit?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** A function's log as the whole mesh kept it. */
export interface MeshLogs {
  /** Serves this peer's lines to members. */
  start(): Promise<void>;
  stop(): void;
  /** Lines of `fn` from every member, merged oldest first. */
  read(fn: string, opts?: ReadOptions): Promise<PeerLogLine[]>;
  /**
   * The lines {@linkcode MeshLogs.read} gives, then each round of new ones (maybe none, so a
   * caller can keep its stream alive) until `signal` aborts.
   */
  follow(fn: string, opts: ReadOptions & { signal: AbortSignal }): AsyncIterable<PeerLogLine[]>;
}

const Ask = z.object({
  fn: z.string().regex(FUNCTION_NAME),
  since: z.number().nonnegative().optional(),
  after: z.number().int().nonnegative().optional(),
  /** The answering peer's boot id the cursor `after` belongs to: a restarted peer ignores it. */
  boot: z.string().max(64).optional(),
  limit: z.number().int().min(1).max(RING_LINES),
}).strict();
type Ask = z.infer<typeof Ask>;

const Answer = z.object({
  boot: z.string().max(64),
  cursor: z.number().int().nonnegative(),
  lines: z.array(LogLineSchema).max(RING_LINES),
});
type Answer = z.infer<typeof Answer>;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Oldest first; lines of one time in a fixed order (peer, then its sequence). */
const byTime = (a: PeerLogLine & { seq: number }, b: PeerLogLine & { seq: number }) =>
  a.time < b.time
    ? -1
    : a.time > b.time
    ? 1
    : a.peer < b.peer
    ? -1
    : a.peer > b.peer
    ? 1
    : a.seq - b.seq;

/**
 * Creates the mesh-wide view of function logs over this peer's store.
 *
 * @example
 * ```ts
 * const logs = createMeshLogs({ net: mesh, store, logger });
 * await logs.start();
 * for (const l of await logs.read("hello", { since: Date.now() - 600_000 })) console.log(l.peer, l.msg);
 * ```
 */
export function createMeshLogs(init: MeshLogsInit): MeshLogs {
  const { net, store, logger } = init;
  const pollMs = init.pollMs ?? FOLLOW_POLL_MS;
  const boot = crypto.randomUUID();

  const answer = (ask: Ask): Answer => {
    const q: { since?: number; after?: number; limit: number } = { limit: ask.limit };
    if (ask.since !== undefined) q.since = ask.since;
    if (ask.after !== undefined && ask.boot === boot) q.after = ask.after;
    const { lines, cursor } = store.read(ask.fn, q);
    return { boot, cursor, lines };
  };

  const askMember = async (peer: string, ask: Ask, signal?: AbortSignal): Promise<Answer> => {
    const timeout = AbortSignal.timeout(MEMBER_TIMEOUT_MS);
    const bytes = await net.request(peer, LOGS_PROTOCOL, enc.encode(JSON.stringify(ask)), {
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      maxBytes: MAX_REPLY_BYTES,
    });
    return Answer.parse(JSON.parse(dec.decode(bytes)));
  };

  /** A line saying a member did not answer, in the place of its lines. */
  const silent = (peer: string, fn: string, err: unknown): PeerLogLine & { seq: number } => ({
    time: new Date().toISOString(),
    peer,
    fn,
    level: "warn",
    source: "runtime",
    msg: `Peer did not answer for its log lines: ${(err as Error).message ?? String(err)}`,
    seq: 0,
  });

  const tagged = (peer: string, l: LogLine) => ({ ...toPeerLine(peer, l), seq: l.seq });
  const untag = (l: PeerLogLine & { seq: number }): PeerLogLine => {
    const { seq: _, ...rest } = l;
    return rest;
  };

  type Cursor = { boot: string; after: number };

  /** One round over every member: their new lines merged, and the cursors moved on. */
  const round = async (
    fn: string,
    since: number | undefined,
    cursors: Map<string, Cursor>,
    failing: Set<string>,
    signal?: AbortSignal,
  ): Promise<Array<PeerLogLine & { seq: number }>> => {
    const members = net.peers().map((p) => p.peerId);
    const got = await Promise.all(members.map(async (peer) => {
      const ask: Ask = { fn, limit: RING_LINES };
      const c = cursors.get(peer);
      // A cursor is the member's own count: no clock of ours is compared with its clock.
      if (c) {
        ask.after = c.after;
        ask.boot = c.boot;
      } else if (since !== undefined) ask.since = since;
      try {
        const a = await askMember(peer, ask, signal);
        cursors.set(peer, { boot: a.boot, after: a.cursor });
        failing.delete(peer);
        return a.lines.map((l) => tagged(peer, l as LogLine));
      } catch (err) {
        if (signal?.aborted) return [];
        // Said once while it stays silent, not every round.
        if (failing.has(peer)) return [];
        failing.add(peer);
        logger.debug({ peer, fn, err: String(err) }, "A member did not answer for its log lines");
        return [silent(peer, fn, err)];
      }
    }));
    return got.flat().sort(byTime);
  };

  return {
    async start() {
      await net.handle(LOGS_PROTOCOL, (req) => {
        const ask = Ask.parse(JSON.parse(dec.decode(req)));
        return Promise.resolve(enc.encode(JSON.stringify(answer(ask))));
      }, { maxBytes: 4096 });
    },
    stop() {},

    async read(fn, opts = {}) {
      const lines = await round(fn, opts.since, new Map(), new Set(), opts.signal);
      return lines.slice(-(opts.limit ?? RING_LINES)).map(untag);
    },

    async *follow(fn, opts) {
      const { signal } = opts;
      const cursors = new Map<string, Cursor>();
      const failing = new Set<string>();
      // Members that join later are read from the time the follow began.
      const since = opts.since ?? Date.now();
      const first = await round(fn, opts.since, cursors, failing, signal);
      yield first.slice(-(opts.limit ?? RING_LINES)).map(untag);
      while (!signal.aborted) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, pollMs);
          function done() {
            clearTimeout(t);
            signal.removeEventListener("abort", done);
            resolve();
          }
          signal.addEventListener("abort", done, { once: true });
        });
        if (signal.aborted) return;
        yield (await round(fn, since, cursors, failing, signal)).map(untag);
      }
    },
  };
}
