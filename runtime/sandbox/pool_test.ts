import assert from "node:assert/strict";
import { HELLO, rejection, spec, startPool, text, until } from "./_testing.ts";
import type { FunctionSpec } from "./types.ts";
import { defaultMaxWarm } from "./constants.ts";

const assertEquals = (a: unknown, b: unknown): void => assert.deepEqual(a, b);

const req = (path = "/", init?: RequestInit) => new Request(`http://fn${path}`, init);

/** This test process's child processes (a pool's processes are its children). */
const childPids = (): string[] =>
  [...Deno.readDirSync(`/proc/${Deno.pid}/task`)].flatMap((t) =>
    Deno.readTextFileSync(`/proc/${Deno.pid}/task/${t.name}/children`).split(" ").filter((x) =>
      x.trim()
    )
  );

Deno.test("invokes a hello function with the stripped path, query and ctx", async () => {
  const pool = await startPool();
  try {
    const s = spec("hello", HELLO);
    await pool.load(s);
    const res = await pool.invoke(s, req("/?name=ada"), { requestId: "r1" });
    assertEquals(res.status, 200);
    assertEquals(await res.text(), "hello ada from peer-test\n");
    assertEquals(pool.stats().processes, 1);
  } finally {
    await pool.stop();
  }
});

Deno.test("passes method, headers, status, env.VARS and ctx.requestId", async () => {
  const pool = await startPool({ spares: 0 });
  try {
    const s = spec(
      "echo",
      `export default { async fetch(req, env, ctx) {
      return Response.json({ m: req.method, p: new URL(req.url).pathname, h: req.headers.get("x-a"),
        body: await req.text(), v: env.VARS.GREETING, r: ctx.requestId }, { status: 201, headers: { "x-b": "2" } });
    } }`,
      { vars: { GREETING: "hi" } },
    );
    const res = await pool.invoke(
      s,
      req("/a/b", { method: "POST", headers: { "x-a": "1" }, body: "data" }),
      {
        requestId: "req-7",
      },
    );
    assertEquals(res.status, 201);
    assertEquals(res.headers.get("x-b"), "2");
    assertEquals(await res.json(), {
      m: "POST",
      p: "/a/b",
      h: "1",
      body: "data",
      v: "hi",
      r: "req-7",
    });
  } finally {
    await pool.stop();
  }
});

Deno.test("a call as parts: header pairs in, the answer's parts out with the host's headers in place", async () => {
  const pool = await startPool({ spares: 0 });
  try {
    const s = spec(
      "parts",
      `export default { async fetch(req) {
      return new Response(req.headers.get("x-a") + " " + await req.text(), {
        status: 202, headers: { "x-b": "2", "x-virgo-peer": "forged" } });
    } }`,
    );
    const body = new Response("data").body!;
    const res = await pool.invoke(
      s,
      { method: "POST", url: "http://fn/", headers: [["x-a", "1"]], body },
      { requestId: "r-p", headers: [["x-virgo-peer", "peer-test"]], parts: true },
    );
    assertEquals(res.status, 202);
    assertEquals(res.headers.filter(([n]) => n === "x-b" || n === "x-virgo-peer"), [
      ["x-b", "2"],
      ["x-virgo-peer", "peer-test"],
    ]);
    assertEquals(new TextDecoder().decode(res.body as Uint8Array), "1 data");
  } finally {
    await pool.stop();
  }
});

Deno.test("env.KV goes to the host in the function's namespace; kv errors keep their code", async () => {
  const pool = await startPool();
  try {
    const s = spec(
      "kv",
      `export default { async fetch(req, env) {
      await env.KV.set("a", "1");
      await env.KV.set("b", new Uint8Array([1, 2]), { ttlSeconds: 5 });
      const text = await env.KV.getText("a");
      const bytes = await env.KV.get("b");
      const missing = await env.KV.get("zz");
      const list = await env.KV.list({ prefix: "" });
      const deleted = await env.KV.delete("a");
      let code = "";
      try { await env.KV.set("a", "x", { ifMatch: "nope" }); } catch (e) { code = e.code + ":" + e.message; }
      return Response.json({ text, bytes: [...bytes], missing, keys: list.keys, deleted, code });
    } }`,
      { kvNamespace: "ns1" },
    );
    const res = await pool.invoke(s, req(), { requestId: "r" });
    assertEquals(await res.json(), {
      text: "1",
      bytes: [1, 2],
      missing: null,
      keys: ["a", "b"],
      deleted: true,
      code: "PRECONDITION_FAILED:Version does not match",
    });
  } finally {
    await pool.stop();
  }
});

Deno.test("console output reaches the logger with fn, level and requestId", async () => {
  const pool = await startPool();
  try {
    const s = spec(
      "logs",
      `export default { async fetch() {
      console.log("hello", { a: 1 });
      await new Promise((r) => setTimeout(r, 1));
      console.error("after await");
      console.table([1]);
      return new Response("ok");
    } }`,
    );
    await (await pool.invoke(s, req(), { requestId: "rid-1" })).text();
    const lines = pool.logger.lines.filter((l) => (l.obj as { fn?: string }).fn === "logs");
    // Logged at the call's own level (once `level` was a field too, and pino wrote info).
    assertEquals(
      lines.map((l) => [l.msg, l.level, (l.obj as { requestId: string }).requestId]),
      [
        ["hello { a: 1 }", "info", "rid-1"],
        ["after await", "error", "rid-1"],
        ["[ 1 ]", "info", "rid-1"],
      ],
    );
  } finally {
    await pool.stop();
  }
});

Deno.test("load rejects bad bundles with INVALID_BUNDLE and the loader's message", async () => {
  const pool = await startPool();
  try {
    const syntax = await rejection(() => pool.load(spec("bad", "export default {")));
    assertEquals(syntax.code, "INVALID_BUNDLE");
    assert(syntax.message.length > 0);
    const nofetch = await rejection(() => pool.load(spec("bad", "export default { hi: 1 }")));
    assertEquals(nofetch.code, "INVALID_BUNDLE");
    assertEquals(nofetch.message, "Default export has no fetch method");
    const throws = await rejection(() => pool.load(spec("bad", "throw new Error('boom at load')")));
    assertEquals(throws.message, "boom at load");
    const s = spec("hello", HELLO);
    assertEquals(
      await (await pool.invoke(s, req(), { requestId: "r" })).text(),
      "hello world from peer-test\n",
    );
  } finally {
    await pool.stop();
  }
});

Deno.test("without a spare, a process started for one function loads as it starts: bad bundles refused, their processes ended", async () => {
  const pool = await startPool({ spares: 0, loadTimeoutMs: 300 });
  try {
    const syntax = await rejection(() => pool.load(spec("bad", "export default {")));
    assertEquals(syntax.code, "INVALID_BUNDLE");
    const throws = await rejection(() => pool.load(spec("bad", "throw new Error('boom at load')")));
    assertEquals([throws.code, throws.message], ["INVALID_BUNDLE", "boom at load"]);
    // A module that ends its own process while loading is a bad bundle, not a failed start.
    const exits = await rejection(() => pool.load(spec("bad", "Deno.exit(3);")));
    assertEquals(exits.code, "INVALID_BUNDLE");
    const never = await rejection(() =>
      pool.load(spec("bad", "await new Promise(() => {}); export default {};", { timeoutMs: 100 }))
    );
    assertEquals(never.message, "Module did not finish loading within 300 ms");
    await until("the failed processes to end", () => childPids().length === 0);
    // Its first call finds it loaded (it warms itself up after LOADED: not observable here, the
    // cold-start bench measures it); later ones as usual.
    const s = spec("hello", HELLO);
    await pool.load(s);
    assertEquals(pool.stats().processes, 1);
    for (const name of ["ada", "bo"]) {
      const res = await pool.invoke(s, req(`/?name=${name}`), { requestId: name });
      assertEquals(await res.text(), `hello ${name} from peer-test\n`);
    }
  } finally {
    await pool.stop();
  }
});

Deno.test("a throwing function gives FUNCTION_ERROR with its message only", async () => {
  const pool = await startPool();
  try {
    const s = spec("throws", `export default { fetch() { throw new Error("nope: bad input"); } }`);
    const e = await rejection(() => pool.invoke(s, req(), { requestId: "r" }));
    assertEquals([e.code, e.message, e.name], [
      "FUNCTION_ERROR",
      "nope: bad input",
      "SandboxError",
    ]);
    const notRes = spec("notres", `export default { fetch() { return "str"; } }`);
    const e2 = await rejection(() => pool.invoke(notRes, req(), { requestId: "r" }));
    assertEquals(e2.code, "FUNCTION_ERROR");
  } finally {
    await pool.stop();
  }
});

Deno.test("100 concurrent calls on one function all answer correctly", async () => {
  const pool = await startPool();
  try {
    const s = spec(
      "conc",
      `export default { async fetch(req) {
      const n = new URL(req.url).searchParams.get("n");
      await new Promise((r) => setTimeout(r, Number(n) % 7));
      return new Response("n=" + n + ";" + await req.text());
    } }`,
    );
    const bodies = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
      const res = await pool.invoke(s, req(`/?n=${i}`, { method: "POST", body: `b${i}` }), {
        requestId: `r${i}`,
      });
      return await res.text();
    }));
    bodies.forEach((b, i) => assertEquals(b, `n=${i};b${i}`));
    assertEquals(pool.stats().inflight, 0);
  } finally {
    await pool.stop();
  }
});

Deno.test("retire lets in-flight calls finish, then ends the process; a new version loads", async () => {
  const pool = await startPool();
  try {
    const s = spec(
      "slow",
      `export default { async fetch() {
      await new Promise((r) => setTimeout(r, 200));
      return new Response("done");
    } }`,
    );
    await pool.load(s);
    const fn = `slow@${s.version}`;
    const pids = pool.stats().detail!.filter((d) => d.fn === fn).map((d) => d.pid);
    assertEquals(pids.length, 1);
    const inflight = pool.invoke(s, req(), { requestId: "r" }); // registered synchronously
    pool.retire(s.version);
    assertEquals(await (await inflight).text(), "done");
    // A process leaves the pool's detail once it has exited (its status is in).
    await until(
      "the retired version's process to exit",
      () => !pool.stats().detail!.some((d) => d.pid === pids[0] || d.fn === fn),
    );
    const s2 = spec("slow", HELLO);
    await pool.load(s2);
    assertEquals((await pool.invoke(s2, req(), { requestId: "r" })).status, 200);
  } finally {
    await pool.stop();
  }
});

Deno.test("a revived version keeps its process between calls, as a retired one does not", async () => {
  const pool = await startPool({ spares: 0 });
  try {
    const s = spec("back", HELLO);
    const fn = `back@${s.version}`;
    const pidsOf = () => pool.stats().detail!.filter((d) => d.fn === fn).map((d) => d.pid);
    await pool.load(s);
    pool.retire(s.version);
    await until("the retired version's process to exit", () => pidsOf().length === 0);
    // Retired: a late call is served by a process of its own, which then ends.
    assertEquals((await pool.invoke(s, req(), { requestId: "r1" })).status, 200);
    await until("the late call's process to exit", () => pidsOf().length === 0);
    // Current again (a rollback from the mesh): the process that serves one call serves the next.
    pool.revive(s.version);
    assert.match(await text(pool, s), /^hello world/);
    const [pid] = pidsOf();
    assert.ok(pid !== undefined);
    assert.match(await text(pool, s), /^hello world/);
    assertEquals(pidsOf(), [pid]);
  } finally {
    await pool.stop();
  }
});

Deno.test("idle processes are retired after idleMs", async () => {
  const pool = await startPool({ idleMs: 100, spares: 0 });
  try {
    const s = spec("idle", HELLO);
    await (await pool.invoke(s, req(), { requestId: "r" })).text();
    assertEquals(pool.stats().processes, 1);
    const deadline = Date.now() + 10_000;
    while (pool.stats().processes > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assertEquals(pool.stats().processes, 0);
    assertEquals(
      await (await pool.invoke(s, req(), { requestId: "r" })).text(),
      "hello world from peer-test\n",
    );
  } finally {
    await pool.stop();
  }
});

Deno.test("an aborted signal cancels the call", async () => {
  const pool = await startPool();
  try {
    const s = spec("hang", `export default { fetch(req) { return new Promise(() => {}); } }`);
    const ac = new AbortController();
    const p = pool.invoke(s, req(), { requestId: "r", signal: ac.signal });
    setTimeout(() => ac.abort(new Error("client went away")), 50);
    await assert.rejects(p, { message: "client went away" });
    assertEquals(pool.stats().inflight, 0);
  } finally {
    await pool.stop();
  }
});

Deno.test("a module that never finishes loading is refused by its deadline and its process ended", async () => {
  const pool = await startPool({ spares: 1, loadTimeoutMs: 300 });
  try {
    const s = spec(
      "never",
      `await new Promise(() => {}); export default { fetch: () => new Response("x") };`,
      { timeoutMs: 100 },
    );
    const t0 = performance.now();
    const e = await rejection(pool.load(s));
    assertEquals(e.code, "INVALID_BUNDLE");
    assertEquals(e.message, "Module did not finish loading within 300 ms");
    assert.ok(performance.now() - t0 < 5_000);
    // The process that took the module (the spare) is gone; only a fresh spare may remain.
    await until("the process to end", () => pool.stats().detail!.every((d) => d.fn === undefined));
    assertEquals(pool.stats().processes, 0);
    // A function's longer timeout is its load deadline too: a slow but finite load passes.
    const slow = spec(
      "slow-load",
      `await new Promise((r) => setTimeout(r, 500)); export default { fetch: () => new Response("up") };`,
      { timeoutMs: 2_000 },
    );
    await pool.load(slow);
    assertEquals(await text(pool, slow), "up");
  } finally {
    await pool.stop();
  }
});

Deno.test("20 concurrent redeploys settle at the newest version's process", async () => {
  const pool = await startPool({ spares: 0 });
  try {
    const specs = Array.from(
      { length: 20 },
      (_, i) => spec("re", `export default { fetch: () => new Response("v${i}") }`),
    );
    // As the registry does: load, then the entry it replaces is retired. Some versions are
    // superseded while they still load (a newer entry came from another peer).
    let current: FunctionSpec | undefined;
    await Promise.all(specs.map(async (s, i) => {
      const loading = pool.load(s);
      if (i % 3 === 1) pool.retire(s.version);
      await loading;
      if (i % 3 === 1) return;
      if (current) pool.retire(current.version);
      current = s;
    }));
    // A call that looked up an old version just before it was replaced is still served.
    assertEquals(await text(pool, specs[0]!), "v0");
    const want = `re@${current!.version}`;
    await until(
      "only the newest version's process to remain",
      () => pool.stats().detail!.every((d) => d.fn === want),
    );
    assertEquals(pool.stats().detail!.length, 1);
    assertEquals(await text(pool, current!), `v${specs.indexOf(current!)}`);
  } finally {
    await pool.stop();
  }
});

Deno.test("at most maxWarm function processes stay: loading one more ends the least recently used idle one", async () => {
  const pool = await startPool({ spares: 0, maxWarm: 2 });
  try {
    const [a, b, c] = [spec("a", HELLO), spec("b", HELLO), spec("c", HELLO)];
    await pool.load(a);
    await pool.load(b);
    // a is used last, so b is the least recently used when c loads.
    assertEquals(
      await text(pool, a),
      "hello world from peer-test\n",
    );
    await pool.load(c);
    const running = () => (pool.stats().detail ?? []).map((d) => d.fn ?? "");
    await until("b's process to end", () => !running().some((fn) => fn.endsWith(b.version)));
    assert.equal(running().length, 2, `running: ${running()}`);
    // An ended version starts again on its next call.
    assertEquals(
      await text(pool, b),
      "hello world from peer-test\n",
    );
  } finally {
    await pool.stop();
  }
});

Deno.test("the default warm cap follows the machine's memory, within 32–128", () => {
  const gib = 1024 ** 3;
  assertEquals(defaultMaxWarm(24 * gib), 128);
  assertEquals(defaultMaxWarm(8 * gib), 51);
  assertEquals(defaultMaxWarm(2 * gib), 32);
  assertEquals(defaultMaxWarm(0), 32);
  assertEquals(defaultMaxWarm(12 * gib), 76);
});
