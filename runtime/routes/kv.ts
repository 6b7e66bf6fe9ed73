/**
 * `/v1/kv`: the cluster's key-value pool over HTTP — raw bytes in and out,
 * versions in `x-virgo-version`, compare-and-set with `If-Match`.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import type { Pool } from "../../kv/mod.ts";
import { VirgoError } from "../errors.ts";
import { route } from "../openapi/mod.ts";

/** Header carrying a key's version. */
export const VERSION_HEADER = "x-virgo-version";

const ListQuery = z.object({
  prefix: z.string().max(1024).optional(),
  after: z.string().max(1024).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
const GetQuery = z.object({
  consistency: z.enum(["strong", "eventual"]).optional().describe(
    "`strong` (default): a quorum read, linearizable. `eventual`: one replica answers — this " +
      "peer's own when it holds the key — so it may be behind, but never behind a version this " +
      "peer acknowledged or answered from a strong read",
  ),
});
const PutQuery = z.object({ ttl: z.coerce.number().int().min(1).max(10 * 365 * 86400).optional() });

/** `If-Match` without quotes; `*`-free. */
function ifMatch(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
}

const KeyParams = z.object({
  key: z.string().describe("the key (may hold `/`; up to the pool's key limit)"),
});
const IfMatch = z.object({
  "if-match": z.string().optional().describe(
    "Only if the key's version is this one (412 otherwise); quotes and `W/` are ignored",
  ),
});
const VersionHeaders = {
  [VERSION_HEADER]: { description: "The key's version" },
  etag: { description: "The version, quoted" },
};

/** Routes of the key-value pool; `maxValueBytes` bounds a PUT body. */
export function kvRoutes(pool: Pool, maxValueBytes: number): Hono {
  const app = new Hono();
  const tag = "kv";
  route(app, "get", "/", {
    summary: "List keys",
    description:
      "Keys in order, from after `after`, under `prefix`; `next` is there when more follow.",
    tag,
    query: ListQuery,
    responses: {
      200: {
        description: "The keys",
        json: z.object({ keys: z.array(z.string()), next: z.string().optional() }),
      },
    },
    errors: [503],
  }, async (c, { query: q }) => {
    const opts: { prefix?: string; after?: string; limit?: number } = {};
    if (q.prefix !== undefined) opts.prefix = q.prefix;
    if (q.after !== undefined) opts.after = q.after;
    if (q.limit !== undefined) opts.limit = q.limit;
    return c.json(await pool.list(opts));
  });
  route(app, "get", "/:key{.+}", {
    summary: "Read a key's value",
    description: "By default a quorum read: the newest version among a majority of the key's " +
      "replicas. `?consistency=eventual` reads one replica (see the parameter).",
    tag,
    params: KeyParams,
    query: GetQuery,
    responses: {
      200: {
        description: "The value's bytes",
        media: "application/octet-stream",
        headers: VersionHeaders,
      },
    },
    errors: [404, 503],
  }, async (c, { params: { key }, query: q }) => {
    const entry = await pool.get(key, q.consistency ? { consistency: q.consistency } : {});
    if (!entry) throw new VirgoError("NOT_FOUND", `No key ${key.slice(0, 200)}`);
    return c.body(entry.value as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "application/octet-stream",
      [VERSION_HEADER]: entry.version,
      etag: `"${entry.version}"`,
    });
  });
  route(app, "put", "/:key{.+}", {
    summary: "Write a key",
    description: "The body is the value's bytes; `?ttl=` seconds makes it expire.",
    tag,
    params: KeyParams,
    query: PutQuery,
    headers: IfMatch,
    body: { bytes: "application/octet-stream", limit: maxValueBytes, tooLarge: "VALUE_TOO_LARGE" },
    responses: {
      200: {
        description: "Written",
        json: z.object({ key: z.string(), version: z.string() }),
        headers: VersionHeaders,
      },
    },
    errors: [412, 413, 503],
  }, async (c, { params: { key }, query: q, headers, body: value }) => {
    const opts: { ifMatch?: string; ttlSeconds?: number } = {};
    const match = ifMatch(headers["if-match"]);
    if (match !== undefined) opts.ifMatch = match;
    if (q.ttl !== undefined) opts.ttlSeconds = q.ttl;
    const { version } = await pool.put(key, value, opts);
    return c.json({ key, version }, 200, { [VERSION_HEADER]: version, etag: `"${version}"` });
  });
  route(app, "delete", "/:key{.+}", {
    summary: "Delete a key",
    tag,
    params: KeyParams,
    headers: IfMatch,
    responses: {
      200: {
        description: "Deleted",
        json: z.object({ key: z.string(), deleted: z.literal(true) }),
      },
    },
    errors: [404, 412, 503],
  }, async (c, { params: { key }, headers }) => {
    const opts: { ifMatch?: string } = {};
    const match = ifMatch(headers["if-match"]);
    if (match !== undefined) opts.ifMatch = match;
    if (!(await pool.delete(key, opts))) {
      throw new VirgoError("NOT_FOUND", `No key ${key.slice(0, 200)}`);
    }
    return c.json({ key, deleted: true });
  });
  return app;
}
