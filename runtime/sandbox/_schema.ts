/**
 * Shapes of the JSON a child sends. The child runs untrusted code that can write raw bytes to
 * stdout, so every JSON part is checked here once; body chunks are raw bytes and need no check.
 *
 * @module
 */
import { z } from "zod";

/** RES head: status, header pairs, body mode (0 none, 1 inline, 2 streamed). */
export const ResHead = z.object({
  s: z.number().int().min(200).max(599),
  h: z.array(z.tuple([z.string(), z.string()])),
  b: z.union([z.literal(0), z.literal(1), z.literal(2)]),
});

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
  z.object({ op: z.literal("get"), key }),
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
