/**
 * Hostile functions: each attempt is contained with a clear answer, and a healthy function in
 * the same pool keeps answering while it happens. Network attempts send packets to loopback
 * only: every other closed range is checked by asking `Deno.permissions` inside the function.
 */
import assert from "node:assert/strict";
import {
  answers,
  ask,
  assertRefused,
  attempt,
  rejection,
  spec,
  startPool,
  text,
  tryEach,
  whileHealthy,
} from "./_testing.ts";

const req = () => new Request("http://fn/");

Deno.test("no file, env, subprocess, FFI, listening or worker access", async () => {
  const pool = await startPool();
  try {
    await whileHealthy(pool, async () => {
      // The host's socket: accepted once and unlinked, and the child revoked the path. Its path
      // is hidden from Deno.args; node's process.argv still holds it (see _child_env.ts).
      const sock = `globalThis.process.argv.find((a) => a.includes("virgo-sb-"))`;
      const notCapable = {
        read: attempt(`await Deno.readTextFile("/etc/passwd")`),
        readSync: attempt(`Deno.readFileSync("/etc/passwd")`),
        write: attempt(`await Deno.writeTextFile("/tmp/virgo-pwned", "x")`),
        env: attempt(`Deno.env.get("HOME")`),
        envAll: attempt(`Deno.env.toObject()`),
        run: attempt(`await new Deno.Command("/bin/sh", { args: ["-c", "id"] }).output()`),
        ffi: attempt(`Deno.dlopen("libc.so.6", { getpid: { parameters: [], result: "i32" } })`),
        sys: attempt(`Deno.hostname()`),
        fileUrl: attempt(`await fetch("file:///etc/passwd")`),
        listen: attempt(`Deno.listen({ port: 0 }).close()`),
        serve: attempt(
          `await Deno.serve({ port: 0, onListen() {} }, () => new Response()).shutdown()`,
        ),
        worker: attempt(`new Worker("data:application/javascript,", { type: "module" })`),
        reopen: attempt(`(await Deno.connect({ transport: "unix", path: ${sock} })).close()`),
        recreate: attempt(`await Deno.writeTextFile(${sock}, "x")`),
      };
      for (const [name, code] of Object.entries(notCapable)) {
        const out = await text(pool, spec(name, code));
        assert.match(out, /^denied: NotCapable: /, `${name}: ${out}`);
      }
      // A dynamic import's permission error is a TypeError; with read access it would fail too
      // (the file is no module), so only the permission message shows it was refused.
      const out = await text(
        pool,
        spec("importFile", attempt(`await import("file:///etc/passwd")`)),
      );
      assert.match(out, /^denied: TypeError: Requires read access to "\/etc\/passwd"/, out);
    });
  } finally {
    await pool.stop();
  }
});

const PRIVATE = ["10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "[fc00::1]", "[fd00::1]"];
const NEVER = [
  "169.254.169.254",
  "224.0.0.1",
  "255.255.255.255",
  "[fe80::1]",
  "[ff02::1]",
  "[fd00:ec2::254]",
];
const LOOPBACK = ["127.0.0.1", "127.1", "localhost", "[::1]", "0.0.0.0", "[::]", "[::ffff:7f00:1]"];

Deno.test("loopback is refused in every spelling, by real fetches, unless allowed", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("secret"),
  );
  const port = server.addr.port;
  const pool = await startPool({ denyNet: [`127.0.0.1:${port}`] });
  try {
    await whileHealthy(pool, async () => {
      const urls = [
        "127.0.0.1",
        "127.1",
        "0x7f000001",
        "2130706433",
        "127.0.0.2",
        "[::ffff:127.0.0.1]",
        // Not in the deny list: refused because Deno checks the address the name resolves to.
        "localhost",
        "[::1]",
        "0.0.0.0",
      ].map((h) => `http://${h}:${port}/`);
      const other = [
        `Deno.connect({ hostname: "127.0.0.1", port: ${port} })`,
        `Deno.connect({ hostname: "localhost", port: ${port} })`,
        `Deno.connect({ hostname: "::1", port: ${port} })`,
        `Deno.connectTls({ hostname: "127.0.0.1", port: ${port} })`,
        `new WebSocket("ws://127.0.0.1:${port}/")`,
        `new WebSocket("ws://[::ffff:127.0.0.1]:${port}/")`,
        `Deno.createHttpClient({ proxy: { url: "http://[::1]:${port}" } })`,
      ];
      assertRefused(await answers(pool, spec("loopback", tryEach([...urls, ...other]))), port);

      const allowed = spec(
        "lo",
        tryEach([`http://127.0.0.1:${port}/`, `http://localhost:${port}/`]),
        {
          allowLoopback: true,
        },
      );
      assert.deepEqual(Object.values(await answers(pool, allowed)), ["REACHED 200", "REACHED 200"]);
      const narrowed = spec("narrow", tryEach([`http://127.0.0.1:${port}/`]), {
        allowNet: ["example.com"],
        allowLoopback: true,
      });
      assertRefused(await answers(pool, narrowed), port);
      const priv = spec("priv", tryEach([`http://127.0.0.1:${port}/`, `http://[::1]:${port}/`]), {
        allowPrivate: true,
      });
      assertRefused(await answers(pool, priv), port);
    });
  } finally {
    await pool.stop();
  }
});

Deno.test("a function asking about private, link-local and other ranges hears denied", async () => {
  const pool = await startPool({ denyNet: ["10.1.2.3:7878"] });
  const granted = (hosts: string[]) => Object.fromEntries(hosts.map((h) => [h, "granted"]));
  const denied = (hosts: string[]) => Object.fromEntries(hosts.map((h) => [h, "denied"]));
  try {
    await whileHealthy(pool, async () => {
      const closed = [...PRIVATE, ...NEVER, ...LOOPBACK, "[::ffff:10.0.0.1]", "10.0.0.1:443"];
      const open = ["93.184.216.34", "93.184.216.34:443", "example.com", "[2606:4700::1111]"];
      assert.deepEqual(await answers(pool, spec("ask", ask([...closed, ...open]))), {
        ...denied(closed),
        ...granted(open),
      });

      const ownPort = ["10.1.2.3:7878"];
      const withPrivate = spec(
        "ask-private",
        ask([...PRIVATE, ...NEVER, ...LOOPBACK, ...ownPort]),
        {
          allowPrivate: true,
        },
      );
      assert.deepEqual(await answers(pool, withPrivate), {
        ...granted(PRIVATE),
        ...denied([...NEVER, ...LOOPBACK, ...ownPort]),
      });

      const both = spec("ask-both", ask([...NEVER, "127.0.0.1", "[::1]", "10.0.0.1"]), {
        allowPrivate: true,
        allowLoopback: true,
      });
      assert.deepEqual(await answers(pool, both), {
        ...denied(NEVER),
        ...granted(["127.0.0.1", "[::1]", "10.0.0.1"]),
      });

      const list = ["example.com", "93.184.216.34", "10.0.0.5", "[fd00::5]", "169.254.169.254"];
      const narrow = await answers(
        pool,
        spec("ask-narrow", ask(list), { allowNet: ["example.com", "10.0.0.5", "[fd00::5]"] }),
      );
      assert.equal(narrow["example.com"], "granted");
      assert.notEqual(narrow["93.184.216.34"], "granted");
      // Listing a private address does not open it: that takes allowPrivate.
      assert.deepEqual(
        [narrow["10.0.0.5"], narrow["[fd00::5]"], narrow["169.254.169.254"]],
        ["denied", "denied", "denied"],
      );
      const narrowPrivate = await answers(
        pool,
        spec("ask-narrow-private", ask(["10.0.0.5", "10.0.0.6", "[fd00::5]"]), {
          allowNet: ["10.0.0.5", "[fd00::5]"],
          allowPrivate: true,
        }),
      );
      assert.equal(narrowPrivate["10.0.0.5"], "granted");
      assert.equal(narrowPrivate["[fd00::5]"], "granted");
      assert.notEqual(narrowPrivate["10.0.0.6"], "granted");
    });
  } finally {
    await pool.stop();
  }
});

Deno.test("nothing of the host shows: paths, environment, system, data folder, stack frames", async () => {
  const data = await Deno.makeTempDir({ prefix: "virgo-data-" });
  const pool = await startPool();
  try {
    const probe = spec(
      "probe",
      `export default { async fetch(req) {
      const data = new URL(req.url).searchParams.get("data");
      const r = {};
      const t = (k, f) => { try { r[k] = f(); } catch (e) { r[k] = "denied: " + e.name; } };
      t("env", () => Deno.env.get("HOME"));
      t("envAll", () => Deno.env.toObject());
      t("cwd", () => Deno.cwd());
      t("execPath", () => Deno.execPath());
      t("mainModule", () => Deno.mainModule.slice(0, 28));
      t("importMeta", () => import.meta.url.slice(0, 28));
      t("args", () => Deno.args);
      for (const k of ["hostname", "osRelease", "osUptime", "uid", "gid", "networkInterfaces",
        "systemMemoryInfo", "loadavg"]) t(k, () => Deno[k]());
      t("readDir", () => [...Deno.readDirSync(data)]);
      t("stat", () => Deno.statSync(data));
      r.stack = new Error("probe").stack;
      r.asyncStack = await (async () => { await null; return new Error("later").stack; })();
      Error.prepareStackTrace = (_, frames) => frames.map((f) => String(f.getFileName()));
      r.frames = new Error().stack;
      Error.prepareStackTrace = undefined;
      r.restored = new Error("again").stack.split("\\n")[0];
      return Response.json(r);
    } }`,
    );
    const raw = await text(pool, probe, `http://fn/?data=${encodeURIComponent(data)}`);
    const r = JSON.parse(raw);
    const notCapable = "denied: NotCapable";
    for (const k of ["env", "envAll", "hostname", "osRelease", "osUptime", "uid", "gid"]) {
      assert.equal(r[k], notCapable, k);
    }
    for (const k of ["networkInterfaces", "systemMemoryInfo", "loadavg", "readDir", "stat"]) {
      assert.equal(r[k], notCapable, k);
    }
    assert.equal(r.cwd, "/");
    assert.equal(r.execPath, "deno");
    assert.equal(r.mainModule, "data:application/javascript,");
    assert.equal(r.importMeta, "data:application/javascript,");
    assert.deepEqual(r.args, []);
    // Stacks name the module by the function's name, not by its data: URL (the whole source).
    assert.match(r.stack, /^Error: probe\n {4}at Object\.fetch \(probe\.js:\d+:\d+\)$/);
    assert.match(r.asyncStack, /^Error: later\n {4}at .*probe\.js:\d+:\d+/);
    assert.ok(r.frames.length > 0 && r.frames.every((f: string) => f.startsWith("data:")));
    assert.equal(r.restored, "Error: again");
    const repo = new URL("../..", import.meta.url).pathname;
    for (const secret of [repo, Deno.cwd(), Deno.execPath(), "runtime/sandbox", "file:"]) {
      assert.ok(!raw.includes(secret), `the function saw ${secret}: ${raw}`);
    }
  } finally {
    await pool.stop();
    await Deno.remove(data, { recursive: true });
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
      // Await the replacement (load resolves once a healthy process holds the version): the call's
      // own 500 ms does not cover a process start on a loaded box.
      await pool.load(s);
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
