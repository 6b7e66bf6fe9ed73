/**
 * `/v1/mem`: VIRGO's memory API — `virgo_malloc` (POST), `virgo_get` (GET),
 * `virgo_set` (PUT) and `virgo_free` (DELETE) over the replicated pool.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import type { Pool } from "../../kv/mod.ts";
import { readLimited } from "../_body.ts";
import { parse, parseJson } from "./_validate.ts";

const AllocBody = z.object({ size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }).strict();
const SetQuery = z.object({ offset: z.coerce.number().int().min(0).optional() });

/** Routes of the memory API; `maxBlockBytes` bounds a PUT body. */
export function memRoutes(pool: Pool, maxBlockBytes: number): Hono {
  const app = new Hono();
  app.post("/", async (c) => {
    const body = parse(
      AllocBody,
      parseJson(await readLimited(c.req.raw, 4096), "alloc body"),
      "alloc body",
    );
    const addr = await pool.alloc(body.size);
    return c.json({ addr, size: body.size }, 201);
  });
  app.get("/:addr", async (c) => {
    const bytes = await pool.memGet(c.req.param("addr"));
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "application/octet-stream",
    });
  });
  app.put("/:addr", async (c) => {
    const addr = c.req.param("addr");
    const q = parse(SetQuery, c.req.query(), "query");
    const data = await readLimited(c.req.raw, maxBlockBytes);
    await pool.memSet(addr, data, q.offset ?? 0);
    return c.json({ addr, written: data.byteLength, offset: q.offset ?? 0 });
  });
  app.delete("/:addr", async (c) => {
    const addr = c.req.param("addr");
    await pool.free(addr);
    return c.json({ addr, freed: true });
  });
  return app;
}
