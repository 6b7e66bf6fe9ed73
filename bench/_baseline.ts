/**
 * The baseline server: bare hono on `Deno.serve`, in its own Deno process,
 * answering `GET /` with `hello`. With `--level <dir>` it also serves
 * `GET/PUT /kv/:key` straight from one local LevelDB (`level`, no
 * replication) — the floor under Virgo's `/v1/kv/:key`. A part starts it with
 * {@linkcode startBaseline}, as a process of the test harness.
 *
 * Run: deno run -A bench/_baseline.ts [--port 0] [--level /tmp/dir]
 * Prints `Ready at <url>` on stdout.
 * @module
 */
import { Hono } from "hono";
import { spawn } from "../test/_harness.ts";
import { ROOT } from "./_util.ts";

/** A running baseline server. */
export interface Baseline {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<number>;
}

/** Starts the baseline (with a LevelDB at `levelDir` if given) and waits until it listens. */
export async function startBaseline(opts: { levelDir?: string } = {}): Promise<Baseline> {
  const args = ["run", "-A", "--config", `${ROOT}deno.json`, `${ROOT}bench/_baseline.ts`];
  if (opts.levelDir) args.push("--level", opts.levelDir);
  const { child, tracked } = spawn(Deno.execPath(), args, { label: "baseline", stdout: "piped", stderr: "piped" });
  const err = new Response(child.stderr).text();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const ready = (async () => {
    let out = "";
    for (let r = await stdout.read(); !r.done; r = await stdout.read()) {
      out += r.value;
      const m = /^Ready at (\S+)/m.exec(out);
      if (!m) continue;
      (async () => { while (!(await stdout.read()).done); })().catch(() => {});
      return m[1]!;
    }
    throw new Error(`Baseline exited (${(await tracked.exited).code}): ${(await err).slice(-2000)}`);
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const url = await Promise.race([
      ready,
      new Promise<string>((_, rej) => (timer = setTimeout(() => rej(new Error("Baseline not ready in 30 s")), 30_000))),
    ]);
    return { url, pid: tracked.pid, stop: () => tracked.stop() };
  } catch (e) {
    await tracked.kill();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function serve(): Promise<void> {
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
}

if (import.meta.main) await serve();
