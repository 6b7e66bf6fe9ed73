/**
 * Hostile functions: each attempt is contained with a clear answer, and a healthy function in
 * the same pool keeps answering while it happens.
 */
import assert from "node:assert/strict";
import { HELLO, rejection, spec, startPool } from "./_testing.ts";
import type { FunctionSpec, SandboxPool } from "./types.ts";

/** A function that runs `body` and reports what was thrown, or LEAKED. */
const attempt = (body: string) =>
  `export default { async fetch() {
  try { ${body}; return new Response("LEAKED"); }
  catch (e) { return new Response("denied: " + (e && e.name) + ": " + (e && e.message)); } } }`;

const req = () => new Request("http://fn/");

/** Runs `call` while a healthy function is called in a loop; every healthy call must succeed. */
async function whileHealthy<T>(pool: SandboxPool, call: () => Promise<T>): Promise<T> {
  const hello = spec("healthy", HELLO);
  await pool.load(hello);
  let done = false;
  let served = 0;
  const loop = (async () => {
    while (!done) {
      const res = await pool.invoke(hello, req(), { requestId: "h" });
      assert.equal(await res.text(), "hello world from peer-test\n");
      served++;
    }
  })();
  try {
    return await call();
  } finally {
    done = true;
    await loop;
    assert.ok(served > 0, "the healthy function answered meanwhile");
  }
}

async function text(pool: SandboxPool, s: FunctionSpec): Promise<string> {
  return await (await pool.invoke(s, req(), { requestId: "x" })).text();
}

Deno.test("no file, env, subprocess or FFI access", async () => {
  const pool = await startPool();
  try {
    await whileHealthy(pool, async () => {
      const cases = {
        read: attempt(`await Deno.readTextFile("/etc/passwd")`),
        readSync: attempt(`Deno.readFileSync("/etc/passwd")`),
        write: attempt(`await Deno.writeTextFile("/tmp/virgo-pwned", "x")`),
        env: attempt(`Deno.env.get("HOME")`),
        envAll: attempt(`Deno.env.toObject()`),
        run: attempt(`await new Deno.Command("id").output()`),
        ffi: attempt(`Deno.dlopen("libc.so.6", { getpid: { parameters: [], result: "i32" } })`),
        sys: attempt(`Deno.hostname()`),
        fileUrl: attempt(`await fetch("file:///etc/passwd")`),
        importFile: attempt(`await import("file:///etc/passwd")`),
        // The host's socket: accepted once and unlinked, and the child revoked the path.
        reopen: attempt(`(await Deno.connect({ transport: "unix", path: Deno.args[0] })).close()`),
        recreate: attempt(`await Deno.writeTextFile(Deno.args[0], "x")`),
      };
      for (const [name, code] of Object.entries(cases)) {
        const out = await text(pool, spec(name, code));
        assert.match(out, /^denied: /, `${name}: ${out}`);
      }
    });
  } finally {
    await pool.stop();
  }
});

Deno.test("loopback and the peer's own address are unreachable unless allowed", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("secret"),
  );
  const port = server.addr.port;
  const pool = await startPool({ denyNet: [`10.0.0.1:${port}`] });
  try {
    await whileHealthy(pool, async () => {
      for (
        const host of ["127.0.0.1", "localhost", "127.0.0.2", "[::1]", "0.0.0.0", "2130706433"]
      ) {
        const out = await text(
          pool,
          spec("net", attempt(`await (await fetch("http://${host}:${port}/")).text()`)),
        );
        assert.match(out, /^denied: NotCapable/, `${host}: ${out}`);
      }
      const connect = await text(
        pool,
        spec(
          "tcp",
          attempt(`(await Deno.connect({ hostname: "127.0.0.1", port: ${port} })).close()`),
        ),
      );
      assert.match(connect, /^denied: NotCapable/);
      const own = await text(pool, spec("own", attempt(`await fetch("http://10.0.0.1:${port}/")`)));
      assert.match(own, /^denied: NotCapable/);
      const allowed = spec(
        "lo",
        `export default { async fetch() { return new Response(await (await fetch("http://127.0.0.1:${port}/")).text()); } }`,
        { allowLoopback: true },
      );
      assert.equal(await text(pool, allowed), "secret");
      const narrowed = spec("narrow", attempt(`await fetch("http://127.0.0.1:${port}/")`), {
        allowNet: ["example.com"],
        allowLoopback: true,
      });
      assert.match(await text(pool, narrowed), /^denied: NotCapable/);
    });
  } finally {
    await pool.stop();
  }
});

Deno.test("a heap bomb ends with FUNCTION_MEMORY_LIMIT, then the function recovers", async () => {
  const pool = await startPool();
  try {
    await whileHealthy(pool, async () => {
      const s = spec(
        "heap",
        `const keep = []; export default { fetch(req) {
        if (new URL(req.url).searchParams.has("ok")) return new Response("ok");
        for (;;) keep.push({ a: Math.random(), b: [1, 2, 3], c: "x".repeat(10) + Math.random() });
      } }`,
        { memoryMb: 64 },
      );
      const e = await rejection(pool.invoke(s, req(), { requestId: "r" }));
      assert.equal(e.code, "FUNCTION_MEMORY_LIMIT", e.message);
      assert.match(e.message, /64 MB/);
      const res = await pool.invoke(s, new Request("http://fn/?ok"), { requestId: "r" });
      assert.equal(await res.text(), "ok");
    });
  } finally {
    await pool.stop();
  }
});

Deno.test("1 GB of ArrayBuffers is stopped by the RSS watchdog", async () => {
  const pool = await startPool();
  try {
    await whileHealthy(pool, async () => {
      const s = spec(
        "buffers",
        `export default { async fetch() {
        const keep = [];
        for (let i = 0; i < 64; i++) {
          keep.push(new Uint8Array(16 * 1024 * 1024).fill(1));
          await new Promise((r) => setTimeout(r, 0));
        }
        return new Response("allocated " + keep.length * 16 + " MB");
      } }`,
      );
      const e = await rejection(pool.invoke(s, req(), { requestId: "r" }));
      assert.equal(e.code, "FUNCTION_MEMORY_LIMIT", e.message);
      const sync = spec(
        "buffers-sync",
        `export default { fetch() {
        const keep = []; for (let i = 0; i < 64; i++) keep.push(new Uint8Array(16 * 1024 * 1024).fill(1));
        return new Response(String(keep.length));
      } }`,
      );
      const e2 = await rejection(pool.invoke(sync, req(), { requestId: "r" }));
      assert.equal(e2.code, "FUNCTION_MEMORY_LIMIT", e2.message);
    });
  } finally {
    await pool.stop();
  }
});

Deno.test("an endless loop times out, its process is replaced, other calls on it crash", async () => {
  const pool = await startPool();
  try {
    await whileHealthy(pool, async () => {
      const s = spec(
        "loop",
        `export default { async fetch(req) {
        const u = new URL(req.url);
        if (u.searchParams.has("wait")) { await new Promise((r) => setTimeout(r, 60_000)); }
        if (u.searchParams.has("spin")) for (;;) {}
        return new Response("alive");
      } }`,
        { timeoutMs: 500 },
      );
      await pool.load(s);
      const waiting = rejection(pool.invoke(s, new Request("http://fn/?wait"), { requestId: "w" }));
      const spin = await rejection(
        pool.invoke(s, new Request("http://fn/?spin"), { requestId: "s" }),
      );
      assert.equal(spin.code, "FUNCTION_TIMEOUT");
      assert.match(spin.message, /500 ms/);
      const other = await waiting;
      assert.ok(["FUNCTION_CRASHED", "FUNCTION_TIMEOUT"].includes(other.code), other.message);
      const res = await pool.invoke(s, req(), { requestId: "r" });
      assert.equal(await res.text(), "alive");
    });
  } finally {
    await pool.stop();
  }
});

Deno.test("garbage on stdout and exiting mid-call crash only that function", async () => {
  const pool = await startPool();
  try {
    await whileHealthy(pool, async () => {
      const garbage = spec(
        "garbage",
        `export default { async fetch() {
        await Deno.stdout.write(new Uint8Array([255, 255, 255, 255, 1, 2, 3, 4, 5, 6]));
        await new Promise(() => {});
      } }`,
      );
      const e = await rejection(pool.invoke(garbage, req(), { requestId: "r" }));
      assert.equal(e.code, "FUNCTION_CRASHED", e.message);
      const exits = spec("exits", `export default { fetch() { Deno.exit(3); } }`);
      const e2 = await rejection(pool.invoke(exits, req(), { requestId: "r" }));
      assert.equal(e2.code, "FUNCTION_CRASHED");
      assert.match(e2.message, /code 3/);
    });
  } finally {
    await pool.stop();
  }
});
