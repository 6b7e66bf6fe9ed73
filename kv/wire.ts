/**
 * The pool's wire format. A message is `[u32 head length][JSON head][payload]`:
 * the head says what it is, the payload carries record values back to back
 * (their lengths are in the head), so values cross the wire without base64.
 * Heads are validated with zod on receipt: they come from other peers.
 *
 * @module
 */
import { z } from "zod";
import { decodeHead, encodeHead } from "../core/mod.ts";
import { KvError } from "./errors.ts";
import type { PoolRecord } from "./records.ts";

const key = z.string().min(1).max(4096);
const version = z.string().min(1).max(200);

const recMeta = z.object({
  k: key,
  v: version,
  n: z.number().int().nonnegative(),
  d: z.literal(1).optional(),
  x: z.number().nonnegative().optional(),
  /** Accepted ballot, when it differs from the version. */
  b: version.optional(),
});
type RecMeta = z.infer<typeof recMeta>;

const requestHead = z.discriminatedUnion("t", [
  z.object({ t: z.literal("get"), k: key }),
  /** Several keys' records at once (reads batched by `_read_batch.ts`), as `recs`. */
  z.object({ t: z.literal("mget"), k: z.array(key).min(1).max(1000) }),
  z.object({ t: z.literal("apply"), r: z.array(recMeta).max(10_000) }),
  z.object({
    t: z.literal("write"),
    k: key,
    d: z.literal(1).optional(),
    m: version.optional(),
    ttl: z.number().positive().optional(),
    o: z.number().int().nonnegative().optional(),
    /** The sender's deadline (ms since the epoch): past it, the write is dropped unrun. */
    dl: z.number().nonnegative().optional(),
  }),
  z.object({
    t: z.literal("list"),
    p: z.string().max(4096),
    a: z.string().max(4096).optional(),
    l: z.number().int().min(1).max(1000),
  }),
  z.object({ t: z.literal("alloc"), s: z.number().int().positive() }),
  z.object({ t: z.literal("release"), b: z.string().min(1).max(64) }),
  /** Settle key `k` (a read found its replicas disagreeing) and answer its record, as `rec`. */
  z.object({ t: z.literal("settle"), k: key }),
  /** Paxos phase 1 for key `k` under ballot `b`. */

  z.object({ t: z.literal("prep"), k: key, b: version }),
  /** Paxos phase 2: accept record `r` (value in the payload) under ballot `b`. */
  z.object({ t: z.literal("acc"), b: version, r: recMeta }),
  /** The pool members the sender knows, and those an operator removed (id → when, ms). */
  z.object({
    t: z.literal("members"),
    m: z.array(z.string().min(1).max(128)).max(10_000),
    x: z.record(z.string().min(1).max(128), z.number().nonnegative()),
  }),
]);

const replyHead = z.discriminatedUnion("t", [
  z.object({ t: z.literal("rec"), r: recMeta.nullable() }),
  /** One entry per key asked, in order: its record (values back to back in the payload), or null. */
  z.object({ t: z.literal("recs"), r: z.array(recMeta.nullable()).max(1000) }),
  z.object({ t: z.literal("vers"), v: z.array(version) }),
  z.object({ t: z.literal("put"), v: version, e: z.boolean() }),
  z.object({
    t: z.literal("keys"),
    e: z.array(z.tuple([key, version, z.union([z.literal(0), z.literal(1)])])),
  }),
  z.object({ t: z.literal("addr"), a: z.string().min(1).max(300) }),
  z.object({ t: z.literal("ok") }),
  z.object({
    t: z.literal("members"),
    m: z.array(z.string().min(1).max(128)).max(10_000),
    x: z.record(z.string().min(1).max(128), z.number().nonnegative()),
  }),
  /** A replica's answer to `prep` or `acc`: on refusal `b` beat the ballot; `r` is what it accepted. */
  z.object({
    t: z.literal("paxos"),
    ok: z.boolean(),
    b: version.optional(),
    r: recMeta.nullable(),
  }),
]);

/** A request head (see the schemas in this file). */
export type RequestHead = z.infer<typeof requestHead>;
/** A reply head. */
export type ReplyHead = z.infer<typeof replyHead>;

/**
 * Encodes a head and payload into one message.
 *
 * @example
 * ```ts
 * const bytes = encodeMessage({ t: "get", k: "a" });
 * ```
 */
export function encodeMessage(head: RequestHead | ReplyHead, payload?: Uint8Array): Uint8Array {
  return encodeHead(head, payload);
}

function split(bytes: Uint8Array): { head: unknown; payload: Uint8Array } {
  try {
    const { head, tail } = decodeHead(bytes);
    return { head, payload: tail };
  } catch (err) {
    throw new KvError("BAD_FRAME", (err as Error).message);
  }
}

/** Validates a decoded head against `schema`; `BAD_FRAME` with the first issue otherwise. */
function parseHead<T>(schema: z.ZodType<T>, head: unknown, what: string): T {
  const parsed = schema.safeParse(head);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new KvError(
    "BAD_FRAME",
    `Malformed ${what}: ${issue?.path.join(".") || "head"}: ${issue?.message ?? "invalid"}`,
  );
}

/** Decodes and validates a request; throws `KvError` `BAD_FRAME` on anything malformed. */
export function decodeRequest(bytes: Uint8Array): { head: RequestHead; payload: Uint8Array } {
  const { head, payload } = split(bytes);
  return { head: parseHead(requestHead, head, "request"), payload };
}

/** Decodes and validates a reply; throws `KvError` `BAD_FRAME` on anything malformed. */
export function decodeReply(bytes: Uint8Array): { head: ReplyHead; payload: Uint8Array } {
  const { head, payload } = split(bytes);
  return { head: parseHead(replyHead, head, "reply"), payload };
}

/** The head metadata and concatenated values of `records`, for `apply` and `rec`. */
export function packRecords(
  records: readonly PoolRecord[],
): { metas: RecMeta[]; payload: Uint8Array } {
  let size = 0;
  for (const r of records) size += r.value.length;
  const payload = new Uint8Array(size);
  const metas: RecMeta[] = [];
  let at = 0;
  for (const r of records) {
    payload.set(r.value, at);
    at += r.value.length;
    const m: RecMeta = { k: r.key, v: r.version, n: r.value.length };
    if (r.tombstone) m.d = 1;
    if (r.expiresAt) m.x = r.expiresAt;
    if (r.ballot !== undefined && r.ballot !== r.version) m.b = r.ballot;
    metas.push(m);
  }
  return { metas, payload };
}

/** Rebuilds records from {@link packRecords}'s output; throws if the lengths disagree. */
export function unpackRecords(metas: readonly RecMeta[], payload: Uint8Array): PoolRecord[] {
  const out: PoolRecord[] = [];
  let at = 0;
  for (const m of metas) {
    if (at + m.n > payload.length) throw new Error("Record values overrun the payload");
    const r: PoolRecord = {
      key: m.k,
      version: m.v,
      value: payload.slice(at, at + m.n),
      tombstone: m.d === 1,
      expiresAt: m.x ?? 0,
    };
    if (m.b !== undefined) r.ballot = m.b;
    out.push(r);
    at += m.n;
  }
  if (at !== payload.length) throw new Error("Payload longer than its records");
  return out;
}
