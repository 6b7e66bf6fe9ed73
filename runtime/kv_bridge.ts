/**
 * The host side of `env.KV`: a function's key-value calls, run against the
 * cluster pool inside the function's own namespace, so two functions cannot
 * read each other's keys unless they were deployed with a shared
 * `kvNamespace`.
 * @module
 */
import type { Pool } from "../kv/mod.ts";
import type { KvOp, KvResult } from "./sandbox/mod.ts";

/** The pool key of a function's key. */
export function namespacedKey(namespace: string, key: string): string {
  return `fn/${namespace}/${key}`;
}

/**
 * Runs one `env.KV` operation for the function namespace `namespace`.
 *
 * @example
 * ```ts
 * await kvBridge(pool, "counter", { op: "get", key: "hits" });
 * ```
 */
export async function kvBridge(pool: Pool, namespace: string, op: KvOp): Promise<KvResult> {
  switch (op.op) {
    case "get": {
      const key = namespacedKey(namespace, op.key);
      const entry = await pool.get(key, op.consistency ? { consistency: op.consistency } : {});
      return entry ? { value: entry.value, version: entry.version } : { value: null };
    }
    case "set": {
      const opts: { ifMatch?: string; ttlSeconds?: number } = {};
      if (op.ifMatch !== undefined) opts.ifMatch = op.ifMatch;
      if (op.ttlSeconds !== undefined) opts.ttlSeconds = op.ttlSeconds;
      return await pool.put(namespacedKey(namespace, op.key), op.value, opts);
    }
    case "delete":
      return { deleted: await pool.delete(namespacedKey(namespace, op.key)) };
    case "list": {
      const base = namespacedKey(namespace, "");
      const opts: { prefix: string; after?: string; limit?: number } = {
        prefix: base + (op.prefix ?? ""),
      };
      if (op.after !== undefined) opts.after = base + op.after;
      if (op.limit !== undefined) opts.limit = op.limit;
      const page = await pool.list(opts);
      const result: { keys: string[]; next?: string } = {
        keys: page.keys.map((k) => k.slice(base.length)),
      };
      if (page.next !== undefined) result.next = page.next.slice(base.length);
      return result;
    }
  }
}
