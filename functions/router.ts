/**
 * Router: a function built on an npm import (hono), bundled into one module
 * at deploy. Routes: `GET /` lists the routes, `GET /users/:id` echoes the
 * id, `POST /sum` adds a JSON array of numbers.
 * @module
 */
// `npm:` rather than a bare "hono": an installed virgo package keeps this file under
// node_modules, where Deno resolves no bare import (a checkout takes it from its node_modules).
// deno-lint-ignore no-import-prefix
import { Hono } from "npm:hono@^4.13.19";

const app = new Hono();
app.get("/", (c) => c.json({ routes: ["GET /", "GET /users/:id", "POST /sum"] }));
app.get("/users/:id", (c) => c.json({ id: c.req.param("id") }));
app.post("/sum", async (c) => {
  const body: unknown = await c.req.json().catch(() => null);
  if (!Array.isArray(body) || !body.every((x) => typeof x === "number")) {
    return c.json({ error: "expected a JSON array of numbers" }, 400);
  }
  return c.json({ sum: body.reduce((a: number, b: number) => a + b, 0) });
});

export default { fetch: (request: Request) => app.fetch(request) };
