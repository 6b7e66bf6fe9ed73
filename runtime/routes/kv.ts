/**
 * `/v1/kv`: the cluster's key-value pool over HTTP — raw bytes in and out,
 * versions in `x-virgo-version`, compare-and-set with `If-Match`.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import type { Pool } from "../../kv/mod.ts";
import { VirgoError } from "../errors.ts";
import { readLimited } from "../_body.ts";
import { parse } from "./_validate.ts";

/** Header carrying a key's version. */
export const VERSION_HEADER = "x-virgo-version";

const ListQuery = z.object({
  prefix: z.string().max(1024).optional(),
  after: z.string().max(1024).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});
const PutQuery = z.object({ ttl: z.coerce.number().int().min(1).max(10 * 365 * 86400).optional() });

/** `If-Match` without quotes; `*`-free. */
function ifMatch(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.trim().replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
}

/** Routes of the key-value pool; `maxValueBytes` bounds a PUT body. */
export function kvRoutes(pool: Pool, maxValueBytes: number): Hono {
  const app = new Hono();
  app.get("/", async (c) => {
    const q = parse(ListQuery, c.req.query(), "query");
    const opts: { prefix?: string; after?: string; limit?: number } = {};
    if (q.prefix !== undefined) opts.prefix = q.prefix;
    if (q.after !== undefined) opts.after = q.after;
    if (q.limit !== undefined) opts.limit = q.limit;
    return c.json(await pool.list(opts));
  });
  app.get("/:key{.+}", async (c) => {
    const entry = await pool.get(c.req.param("key"));
    if (!entry) throw new VirgoError("NOT_FOUND", `No key ${c.req.param("key").slice(0, 200)}`);
    return c.body(entry.value as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "application/octet-stream",
      [VERSION_HEADER]: entry.version,
      etag: `"${entry.version}"`,
    });
  });
  app.put("/:key{.+}", async (c) => {
    const key = c.req.param("key");
    const q = parse(PutQuery, c.req.query(), "query");
    let value: Uint8Array;
    try {
      value = await readLimited(c.req.raw, maxValueBytes);
    } catch (err) {
      if ((err as VirgoError).code === "PAYLOAD_TOO_LARGE") {
        throw new VirgoError("VALUE_TOO_LARGE", `Value exceeds ${maxValueBytes} bytes`);
      }
      throw err;
    }
    const opts: { ifMatch?: string; ttlSeconds?: number } = {};
    const match = ifMatch(c.req.header("if-match"));
    if (match !== undefined) opts.ifMatch = match;
    if (q.ttl !== undefined) opts.ttlSeconds = q.ttl;
    const { version } = await pool.put(key, value, opts);
    return c.json({ key, version }, 200, { [VERSION_HEADER]: version, etag: `"${version}"` });
  });
  app.delete("/:key{.+}", async (c) => {
    const key = c.req.param("key");
    const opts: { ifMatch?: string } = {};
    const match = ifMatch(c.req.header("if-match"));
    if (match !== undefined) opts.ifMatch = match;
    if (!(await pool.delete(key, opts))) {
      throw new VirgoError("NOT_FOUND", `No key ${key.slice(0, 200)}`);
    }
    return c.json({ key, deleted: true });
  });
  return app;
}
