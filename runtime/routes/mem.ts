/**
 * `/v1/mem`: VIRGO's memory API — `virgo_malloc` (POST), `virgo_get` (GET),
 * `virgo_set` (PUT) and `virgo_free` (DELETE) over the replicated pool.
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import type { Pool } from "../../kv/mod.ts";
import { route } from "../openapi/mod.ts";

const AllocBody = z.object({ size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }).strict();
const SetQuery = z.object({ offset: z.coerce.number().int().min(0).optional() });

const AddrParams = z.object({ addr: z.string().describe("a block's address, from POST /v1/mem") });

/** Routes of the memory API; `maxBlockBytes` bounds a PUT body. */
export function memRoutes(pool: Pool, maxBlockBytes: number): Hono {
  const app = new Hono();
  const tag = "mem";
  route(app, "post", "/", {
    summary: "Allocate a block (virgo_malloc)",
    tag,
    body: { json: AllocBody, limit: 4096, what: "alloc body" },
    responses: {
      201: {
        description: "Allocated",
        json: z.object({ addr: z.string(), size: z.number().int() }),
      },
    },
    errors: [413, 503, 507],
  }, async (c, { body }) => {
    const addr = await pool.alloc(body.size);
    return c.json({ addr, size: body.size }, 201);
  });
  route(app, "get", "/:addr", {
    summary: "Read a block (virgo_get)",
    tag,
    params: AddrParams,
    responses: { 200: { description: "The block's bytes", media: "application/octet-stream" } },
    errors: [404, 503],
  }, async (c, { params: { addr } }) => {
    const bytes = await pool.memGet(addr);
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "application/octet-stream",
    });
  });
  route(app, "put", "/:addr", {
    summary: "Write into a block (virgo_set)",
    description:
      "The body's bytes are written at `?offset=` (default 0); 413 past the block's size.",
    tag,
    params: AddrParams,
    query: SetQuery,
    body: { bytes: "application/octet-stream", limit: maxBlockBytes },
    responses: {
      200: {
        description: "Written",
        json: z.object({ addr: z.string(), written: z.number().int(), offset: z.number().int() }),
      },
    },
    errors: [404, 413, 503],
  }, async (c, { params: { addr }, query: q, body: data }) => {
    await pool.memSet(addr, data, q.offset ?? 0);
    return c.json({ addr, written: data.byteLength, offset: q.offset ?? 0 });
  });
  route(app, "delete", "/:addr", {
    summary: "Free a block (virgo_free)",
    tag,
    params: AddrParams,
    responses: {
      200: {
        description: "Freed",
        json: z.object({ addr: z.string(), freed: z.literal(true) }),
      },
    },
    errors: [404, 503],
  }, async (c, { params: { addr } }) => {
    await pool.free(addr);
    return c.json({ addr, freed: true });
  });
  return app;
}
