/**
 * The baseline server: bare hono on `Deno.serve`, in its own Deno process,
 * answering `GET /` with `hello`. With `--level <dir>` it also serves
 * `GET/PUT /kv/:key` straight from one local LevelDB (`level`, no
 * replication) — the floor under Virgo's `/v1/kv/:key`.
 *
 * Run: deno run -A bench/_baseline.ts [--port 0] [--level /tmp/dir]
 * Prints `Ready at <url>` on stdout.
 * @module
 */
import { Hono } from "hono";

const arg = (name: string) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
};

const app = new Hono();
app.get("/", (c) => c.text("hello"));

const levelDir = arg("level");
if (levelDir) {
  const { Level } = await import("level");
  const db = new Level<string, Uint8Array>(levelDir, { valueEncoding: "view" });
  await db.open();
  app.get("/kv/:key{.+}", async (c) => {
    const v = await db.get(c.req.param("key"));
    if (v === undefined) return c.text("not found", 404);
    return c.body(v as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/octet-stream" });
  });
  app.put("/kv/:key{.+}", async (c) => {
    await db.put(c.req.param("key"), new Uint8Array(await c.req.arrayBuffer()));
    return c.json({ ok: true });
  });
  const close = () => db.close().finally(() => Deno.exit(0));
  Deno.addSignalListener("SIGTERM", close);
  Deno.addSignalListener("SIGINT", close);
}

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(arg("port") ?? 0),
  onListen: ({ hostname, port }) => console.log(`Ready at http://${hostname}:${port}`),
}, app.fetch);
