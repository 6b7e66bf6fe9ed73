/**
 * Shapes of the JSON a child sends over its unix socket. The child runs untrusted code that may
 * find a way to write anything there, so every JSON part is checked here once; body chunks are
 * raw bytes and need no check.
 *
 * @module
 */
import { z } from "zod";

/**
 * RES head: status, header pairs, body mode (0 none, 1 inline, 2 streamed), how long the call
 * waited in the child before it started, in ms, and `t: 1` when an inline body is the UTF-8 of
 * a string the function answered with.
 */
export interface ResHead {
  s: number;
  h: [string, string][];
  b: 0 | 1 | 2;
  w?: number;
  t?: 1;
}

/**
 * Checks a RES head by hand: it is on every call's path, where zod cost several µs. Throws like
 * a failed parse; the same rules as the other shapes here.
 */
export function parseResHead(v: unknown): ResHead {
  const o = v as Partial<ResHead> | null;
  const ok = typeof o === "object" && o !== null && Number.isInteger(o.s) && o.s! >= 200 &&
    o.s! <= 599 && (o.b === 0 || o.b === 1 || o.b === 2) && Array.isArray(o.h) &&
    (o.w === undefined || (typeof o.w === "number" && o.w >= 0 && o.w < 1e9)) &&
    (o.t === undefined || (o.t === 1 && o.b === 1)) &&
    o.h.every((p) =>
      Array.isArray(p) && p.length === 2 && typeof p[0] === "string" && typeof p[1] === "string"
    );
  if (!ok) throw new Error("Malformed response head");
  return o as ResHead;
}

/** LOADED: whether the import and the `fetch` check succeeded. */
export const Loaded = z.object({ ok: z.boolean(), message: z.string().optional() });

/** RES_ERROR: the function threw; only its message crosses. */
export const ResError = z.object({ message: z.string() });

/** LOG: a console line, with the request id when the child knew it. */
export const Log = z.object({
  l: z.enum(["debug", "info", "warn", "error"]),
  m: z.string(),
  r: z.string().optional(),
});

const key = z.string();

/** KV_CALL op JSON; a `set` value travels as the raw tail of the frame. */
export const KvCall = z.discriminatedUnion("op", [
  z.object({ op: z.literal("get"), key, consistency: z.enum(["strong", "eventual"]).optional() }),
  z.object({
    op: z.literal("set"),
    key,
    ttlSeconds: z.number().positive().optional(),
    ifMatch: z.string().optional(),
  }),
  z.object({ op: z.literal("delete"), key }),
  z.object({
    op: z.literal("list"),
    prefix: z.string().optional(),
    after: z.string().optional(),
    limit: z.number().int().positive().optional(),
  }),
]);
