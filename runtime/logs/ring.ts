/**
 * The log lines a peer keeps: a bounded ring per function (lines and bytes) under a bound for
 * all functions, where the function written to least recently gives up its oldest lines first.
 *
 * @module
 */
import { LINE_OVERHEAD_BYTES, RING_BYTES, RING_LINES, TOTAL_BYTES } from "./constants.ts";
import type { LogLine, NewLogLine } from "./line.ts";

/** Bounds of a {@linkcode LogStore}. */
export interface LogStoreOptions {
  /** Lines kept per function. @default {RING_LINES} */
  lines?: number;
  /** Bytes kept per function. @default {RING_BYTES} */
  bytes?: number;
  /** Bytes kept for all functions. @default {TOTAL_BYTES} */
  totalBytes?: number;
  /** The clock, in ms. @default {Date.now} */
  now?: () => number;
}

/** Which lines of one function to read. */
export interface LogQuery {
  /** Lines seen at or after this time (ms since the epoch). */
  since?: number;
  /** Lines after this cursor (a `seq` from an earlier answer). */
  after?: number;
  /** Most lines returned: the oldest that match. @default {no limit} */
  limit?: number;
}

/** The lines of one function a peer kept. */
export interface LogStore {
  /** Keeps a line, stamped with the time now unless it has one; returns it numbered. */
  append(line: NewLogLine): LogLine;
  /**
   * Lines of `fn` that match, oldest first, and the cursor to read on from: the last line's
   * `seq` when the limit cut the answer short, else the newest `seq` of the store.
   */
  read(fn: string, q?: LogQuery): { lines: LogLine[]; cursor: number };
  /** Bytes kept, over all functions. */
  bytes(): number;
}

interface Ring {
  lines: LogLine[];
  /** Index of the oldest line. */
  head: number;
  bytes: number;
}

const cost = (l: LogLine) => l.msg.length + LINE_OVERHEAD_BYTES;

/**
 * Creates an empty store.
 *
 * @example
 * ```ts
 * const logs = createLogStore({ lines: 1000 });
 * logs.append({ fn: "hello", level: "info", source: "function", msg: "hi" });
 * logs.read("hello").lines[0]!.msg; // "hi"
 * ```
 */
export function createLogStore(opts: LogStoreOptions = {}): LogStore {
  const maxLines = opts.lines ?? RING_LINES;
  const maxBytes = opts.bytes ?? RING_BYTES;
  const maxTotal = opts.totalBytes ?? TOTAL_BYTES;
  const now = opts.now ?? Date.now;
  // Insertion order is the order of last writes: a write moves its function to the end.
  const rings = new Map<string, Ring>();
  let total = 0;
  let seq = 0;

  const dropOldest = (fn: string, r: Ring) => {
    const old = r.lines[r.head]!;
    r.head++;
    r.bytes -= cost(old);
    total -= cost(old);
    // Compact once the dropped prefix is as long as what is kept.
    if (r.head > 64 && r.head * 2 >= r.lines.length) {
      r.lines = r.lines.slice(r.head);
      r.head = 0;
    }
    if (r.head === r.lines.length) rings.delete(fn);
  };

  return {
    append(input) {
      const line: LogLine = { ...input, seq: ++seq, t: input.t ?? now() };
      let r = rings.get(line.fn);
      if (r) rings.delete(line.fn);
      else r = { lines: [], head: 0, bytes: 0 };
      rings.set(line.fn, r);
      r.lines.push(line);
      r.bytes += cost(line);
      total += cost(line);
      while (
        r.lines.length - r.head > maxLines || (r.bytes > maxBytes && r.lines.length - r.head > 1)
      ) {
        dropOldest(line.fn, r);
      }
      while (total > maxTotal) {
        const [fn, oldest] = rings.entries().next().value!;
        if (oldest === r && r.lines.length - r.head === 1) break; // only the new line is left
        dropOldest(fn, oldest);
      }
      return line;
    },

    read(fn, q = {}) {
      const r = rings.get(fn);
      const lines: LogLine[] = [];
      if (!r) return { lines, cursor: seq };
      const limit = q.limit ?? Infinity;
      for (let i = r.head; i < r.lines.length; i++) {
        const l = r.lines[i]!;
        if (q.after !== undefined && l.seq <= q.after) continue;
        if (q.since !== undefined && l.t < q.since) continue;
        if (lines.length >= limit) return { lines, cursor: lines.at(-1)?.seq ?? q.after ?? 0 };
        lines.push(l);
      }
      return { lines, cursor: seq };
    },

    bytes: () => total,
  };
}
