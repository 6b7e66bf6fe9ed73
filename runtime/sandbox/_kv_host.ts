/**
 * Host side of `env.KV`: validates a child's KV_CALL, runs it against the peer's kv handler in
 * the function's own namespace (never one the child names), and encodes the reply.
 *
 * @module
 */
import { isCode } from "../../core/mod.ts";
import { jsonPart, splitJson } from "./_frame.ts";
import { KvCall } from "./_schema.ts";
import type { KvOp, KvResult } from "./types.ts";

/** Runs one KV_CALL payload; always resolves to a KV_REPLY payload, errors included. */
export async function handleKv(
  namespace: string | undefined,
  kv: (namespace: string, op: KvOp) => Promise<KvResult>,
  payload: Uint8Array,
): Promise<Uint8Array[]> {
  try {
    if (namespace === undefined) throw { code: "BAD_REQUEST", message: "No function is loaded" };
    const { json, tail } = splitJson(payload);
    const parsed = KvCall.safeParse(json);
    if (!parsed.success) throw { code: "BAD_REQUEST", message: "Malformed KV operation" };
    const result = await kv(namespace, toOp(parsed.data, tail));
    if ("value" in result) {
      const r = result.value === null ? { value: null } : { value: true, version: result.version };
      return jsonPart({ ok: true, r }, result.value ?? undefined);
    }
    return jsonPart({ ok: true, r: result });
  } catch (e) {
    const o = (typeof e === "object" && e !== null ? e : {}) as {
      code?: unknown;
      message?: unknown;
    };
    // The pool's own errors reach the function as they are; anything else is the host's
    // business: INTERNAL, with nothing of its detail.
    const known = typeof o.code === "string" && isCode(o.code) && o.code !== "INTERNAL";
    return jsonPart({
      ok: false,
      code: known ? o.code : "INTERNAL",
      message: known && typeof o.message === "string" ? o.message : "Internal error",
    });
  }
}

type Parsed = ReturnType<typeof KvCall.parse>;

/** Rebuilds the op without undefined fields (exactOptionalPropertyTypes). */
function toOp(p: Parsed, tail: Uint8Array): KvOp {
  switch (p.op) {
    case "get":
      return p.consistency
        ? { op: "get", key: p.key, consistency: p.consistency }
        : { op: "get", key: p.key };
    case "delete":
      return { op: p.op, key: p.key };
    case "set": {
      const op: KvOp & { op: "set" } = { op: "set", key: p.key, value: tail.slice() };
      if (p.ttlSeconds !== undefined) op.ttlSeconds = p.ttlSeconds;
      if (p.ifMatch !== undefined) op.ifMatch = p.ifMatch;
      return op;
    }
    case "list": {
      const op: KvOp & { op: "list" } = { op: "list" };
      if (p.prefix !== undefined) op.prefix = p.prefix;
      if (p.after !== undefined) op.after = p.after;
      if (p.limit !== undefined) op.limit = p.limit;
      return op;
    }
  }
}
