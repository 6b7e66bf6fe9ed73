/**
 * Hostile functions against a real peer: each attempt is contained with a
 * clear answer, and a well-behaved function keeps answering while it happens.
 */
import assert from "node:assert/strict";
import { deploy, deploySource, spawn, startPeer, stopAll } from "./_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** A function that runs `body` and reports what was thrown (with its cause), or LEAKED. */
const attempt = (body: string) =>
  `export default { async fetch() {
  try { ${body}; return new Response("LEAKED"); }
  catch (e) { return new Response("denied: " + (e && e.name) + ": " + (e && e.message) +
    (e && e.cause ? " | cause: " + e.cause.message : "")); } } }`;

Deno.test("sandboxed functions cannot escape, and the peer keeps serving", opts, async (t) => {
  const peer = await startPeer();
  try {
    await deploy(peer, "hello", "hello");
    /** Runs `call` while hammering hello; every hello call must succeed. */
    const whileServing = async <T>(call: () => Promise<T>): Promise<T> => {
      let done = false;
      let served = 0;
      const bystander = (async () => {
        while (!done) {
          const res = await fetch(`${peer.url}/fn/hello`);
          assert.equal(res.status, 200, "bystander call failed");
          await res.text();
          served++;
        }
      })();
      try {
        return await call();
      } finally {
        done = true;
        await bystander;
        assert.ok(served > 0, "the bystander was never served");
      }
    };

    const port = new URL(peer.url).port;
    // Each attempt must meet Deno's permission check, not some other failure: a command found
    // on no PATH (the child has no environment) or a refused connection would prove nothing.
    const notCapable = (what: string) => new RegExp(`^denied: NotCapable: Requires ${what}`);
    const denied: Array<[string, string, RegExp]> = [
      [
        "read /etc/passwd",
        `await Deno.readTextFile("/etc/passwd")`,
        notCapable(`read access to "/etc/passwd"`),
      ],
      ["read the environment", `Deno.env.toObject()`, notCapable("env access")],
      [
        "spawn a process",
        `await new Deno.Command("/bin/sh", { args: ["-c", "id"] }).output()`,
        notCapable(`run access to "/bin/sh"`),
      ],
      ["open a dynamic library", `Deno.dlopen("libc.so.6", {})`, notCapable("ffi access")],
      [
        "write a file",
        `await Deno.writeTextFile("/tmp/virgo-escape", "x")`,
        notCapable(`write access to "/tmp/virgo-escape"`),
      ],
      [
        "reach the peer's own API",
        `await fetch("${peer.url}/v1/status")`,
        notCapable(`net access to "127\\.0\\.0\\.1:${port}"`),
      ],
      [
        "reach loopback by name",
        `await fetch("http://localhost:${port}/healthz")`,
        // Deno resolves the name, then checks the address: the refusal is the connect error's.
        new RegExp(
          `^denied: TypeError: .* \\| cause: .*Requires net access to "(127\\.0\\.0\\.1|\\[::1\\]):${port}"`,
        ),
      ],
    ];
    for (const [what, code, refusal] of denied) {
      await t.step(`cannot ${what}`, async () => {
        const name = `hostile-${what.replace(/[^a-z]+/g, "-")}`.slice(0, 60).replace(/-$/, "");
        const res = await deploySource(peer, name, attempt(code));
        assert.equal(res.status, 201, await res.text());
        const out = await whileServing(async () =>
          await (await fetch(`${peer.url}/fn/${name}`)).text()
        );
        assert.match(out, refusal);
      });
    }

    await t.step("an endless loop is ended at its timeout with 504", async () => {
      await deploySource(peer, "spin", "export default { fetch() { for (;;) {} } }", {
        timeoutMs: 500,
      });
      const res = await whileServing(() => fetch(`${peer.url}/fn/spin`));
      assert.equal(res.status, 504);
      assert.equal((await res.json()).error.code, "FUNCTION_TIMEOUT");
    });

    for (
      const [what, code] of <Array<[string, string]>> [
        ["heap objects", "const a = []; for (;;) a.push({ x: Math.random(), y: [1, 2, 3] });"],
        [
          "ArrayBuffers",
          "const a = []; for (;;) { const b = new Uint8Array(16 * 1024 * 1024); b.fill(1); a.push(b); }",
        ],
      ]
    ) {
      await t.step(`allocating ${what} without bound kills only that call`, async () => {
        const name = `bomb-${what.includes("heap") ? "heap" : "buffers"}`;
        await deploySource(peer, name, `export default { fetch() { ${code} } }`, {
          memoryMb: 64,
          timeoutMs: 30_000,
        });
        const res = await whileServing(() => fetch(`${peer.url}/fn/${name}`));
        assert.equal(res.status, 500);
        assert.match((await res.json()).error.code, /^FUNCTION_(MEMORY_LIMIT|CRASHED)$/);
      });
    }

    await t.step("a 100 MB response streams through without harm", async () => {
      await deploySource(
        peer,
        "big",
        `export default { fetch() {
          const chunk = new Uint8Array(1024 * 1024); let n = 0;
          return new Response(new ReadableStream({ pull(c) { if (n++ < 100) c.enqueue(chunk); else c.close(); } }));
        } }`,
      );
      const total = await whileServing(async () => {
        const res = await fetch(`${peer.url}/fn/big`);
        assert.equal(res.status, 200);
        let n = 0;
        for await (const c of res.body!) n += c.byteLength;
        return n;
      });
      assert.equal(total, 100 * 1024 * 1024);
    });

    await t.step("the replaced functions work again and the peer is healthy", async () => {
      await deploySource(peer, "spin", "export default { fetch() { return new Response('ok'); } }");
      assert.equal(await (await fetch(`${peer.url}/fn/spin`)).text(), "ok");
      assert.equal((await fetch(`${peer.url}/healthz`)).status, 200);
    });
  } finally {
    await stopAll([peer]);
  }
});

Deno.test("each example runs unchanged under deno serve", opts, async (t) => {
  const peer = await startPeer();
  const root = new URL("../", import.meta.url).pathname;
  try {
    const cases: Array<[string, string, RequestInit?]> = [
      ["hello", "/?name=ada"],
      ["echo", "/x/y?q=1", { method: "POST", body: "hi" }],
      ["fib", "/?n=15"],
      ["router", "/users/42"],
    ];
    for (const [name, path, init] of cases) {
      await t.step(name, async () => {
        await deploy(peer, name, name);
        const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const port = (probe.addr as Deno.NetAddr).port;
        probe.close();
        const { child: serve, tracked } = spawn(Deno.execPath(), [
          "serve",
          "-A",
          "--config",
          `${root}deno.json`,
          "--host",
          "127.0.0.1",
          "--port",
          String(port),
          `${root}functions/${name}.ts`,
        ], { label: "deno serve", stderr: "piped" });
        try {
          // deno serve says "Listening on …" on stderr once it is ready.
          const reader = serve.stderr.pipeThrough(new TextDecoderStream()).getReader();
          let said = "";
          while (!said.includes("Listening")) {
            const { done, value } = await reader.read();
            if (done) throw new Error(`deno serve exited: ${said}`);
            said += value;
          }
          void (async () => {
            while (!(await reader.read()).done);
          })();
          const viaVirgo = await fetch(`${peer.url}/fn/${name}${path}`, init);
          const viaDeno = await fetch(`http://127.0.0.1:${port}${path}`, init);
          assert.equal(viaVirgo.status, viaDeno.status);
          assert.equal(viaVirgo.headers.get("content-type"), viaDeno.headers.get("content-type"));
          const a = (await viaVirgo.text()).replace(peer.peerId, "<peer>");
          const b = (await viaDeno.text()).replace("deno", "<peer>");
          if (name === "echo") {
            const [x, y] = [JSON.parse(a), JSON.parse(b)];
            for (const k of ["method", "path", "query", "body"]) assert.deepEqual(x[k], y[k], k);
          } else {
            assert.equal(a, b);
          }
        } finally {
          await tracked.stop();
        }
      });
    }
  } finally {
    await stopAll([peer]);
  }
});
