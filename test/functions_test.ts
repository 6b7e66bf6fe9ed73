/**
 * One real peer process: deploy and invoke through the CLI and HTTP, restart,
 * redeploy under load, and every error path of the function routes.
 */
import assert from "node:assert/strict";
import { cli, deploy, deploySource, startPeer, stopAll, waitFor } from "./_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test("deploy and invoke through the CLI and HTTP", opts, async (t) => {
  const peer = await startPeer();
  try {
    await t.step("CLI deploy bundles and stores the function", async () => {
      const meta = await deploy(peer, "hello", "hello");
      assert.equal(meta.name, "hello");
      assert.match(meta.version, /^[0-9a-f]{16}$/);
      assert.ok(meta.size > 0);
    });
    await t.step("CLI invoke prints the body", async () => {
      const r = await cli(["invoke", "hello", "/?name=ada", "--peer", peer.url]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `hello ada from ${peer.peerId}\n`);
    });
    await t.step("HTTP invoke names the peer that ran it", async () => {
      const res = await fetch(`${peer.url}/fn/hello?name=bob`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-virgo-peer"), peer.peerId);
      assert.equal(await res.text(), `hello bob from ${peer.peerId}\n`);
    });
    await t.step("the /fn/<name> prefix is stripped and bodies pass through", async () => {
      await deploy(peer, "echo", "echo");
      const res = await fetch(`${peer.url}/fn/echo/a/b?x=1`, { method: "POST", body: "payload" });
      const body = await res.json();
      assert.equal(body.method, "POST");
      assert.equal(body.path, "/a/b");
      assert.deepEqual(body.query, { x: "1" });
      assert.equal(body.body, "payload");
    });
    await t.step("a function with an npm import is bundled whole", async () => {
      await deploy(peer, "router", "router");
      const res = await fetch(`${peer.url}/fn/router/users/7`);
      assert.deepEqual(await res.json(), { id: "7" });
      const sum = await fetch(`${peer.url}/fn/router/sum`, { method: "POST", body: "[1,2,3.5]" });
      assert.deepEqual(await sum.json(), { sum: 6.5 });
    });
    await t.step("a streamed request body of 8 MB reaches the function", async () => {
      await deploySource(
        peer,
        "count",
        `export default { async fetch(req) {
        let n = 0; for await (const c of req.body) n += c.byteLength; return new Response(String(n)); } }`,
      );
      const chunk = new Uint8Array(1024 * 1024).fill(7);
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent++ < 8) c.enqueue(chunk);
          else c.close();
        },
      });
      const res = await fetch(`${peer.url}/fn/count`, { method: "POST", body });
      assert.equal(await res.text(), String(8 * 1024 * 1024));
    });
    await t.step(
      "a function's console output lands in the peer's log with its name and request id",
      async () => {
        await deploySource(
          peer,
          "chatty",
          "export default { fetch(req) { console.warn('saw', new URL(req.url).pathname); return new Response('ok'); } }",
        );
        const res = await fetch(`${peer.url}/fn/chatty/some/path`);
        assert.equal(await res.text(), "ok");
        const requestId = res.headers.get("x-virgo-request-id")!;
        const line = await waitFor(
          "the log line",
          () => peer.logs.find((l) => l.includes("saw /some/path")),
        );
        const entry = JSON.parse(line);
        assert.equal(entry.fn, "chatty");
        assert.equal(entry.requestId, requestId);
      },
    );

    await t.step("virgo functions lists, rm removes", async () => {
      const ls = await cli(["functions", "--peer", peer.url]);
      assert.equal(ls.code, 0, ls.stderr);
      assert.match(ls.stdout, /^hello\t/m);
      assert.match(ls.stdout, /^echo\t/m);
      const rm = await cli(["functions", "rm", "hello", "--peer", peer.url]);
      assert.equal(rm.code, 0, rm.stderr);
      const res = await fetch(`${peer.url}/fn/hello`);
      assert.equal(res.status, 404);
      assert.equal((await res.json()).error.code, "FUNCTION_NOT_FOUND");
      const again = await cli(["functions", "rm", "hello", "--peer", peer.url]);
      assert.equal(again.code, 3);
      assert.match(again.stderr, /FUNCTION_NOT_FOUND/);
    });
  } finally {
    await stopAll([peer]);
  }
});

Deno.test("a restarted peer keeps its functions and id", opts, async () => {
  const first = await startPeer();
  let second;
  try {
    await deploy(first, "fib", "fib");
    assert.equal(await first.stop(), 0);
    second = await startPeer({ data: first.data });
    assert.equal(second.peerId, first.peerId);
    const res = await fetch(`${second.url}/fn/fib?n=20`);
    assert.deepEqual(await res.json(), { n: 20, fib: 6765 });
  } finally {
    await stopAll(second ? [first, second] : [first]);
  }
});

Deno.test("a redeploy under load fails no call and switches to the new version", opts, async () => {
  const peer = await startPeer();
  const version = (v: string) =>
    `export default { async fetch() { await new Promise((r) => setTimeout(r, 5)); return new Response("${v}"); } }`;
  try {
    assert.equal((await deploySource(peer, "ver", version("v1"))).status, 201);
    let stop = false;
    const seen = new Set<string>();
    const failures: string[] = [];
    const workers = Array.from({ length: 8 }, async () => {
      while (!stop) {
        try {
          const res = await fetch(`${peer.url}/fn/ver`);
          const text = await res.text();
          if (res.status !== 200) failures.push(`${res.status} ${text}`);
          else seen.add(text);
        } catch (err) {
          failures.push(`${err}\n${peer.logs.slice(-15).join("\n")}`);
          stop = true;
        }
      }
    });
    for (const v of ["v2", "v3", "v4"]) {
      const res = await deploySource(peer, "ver", version(v));
      assert.equal(res.status, 201, await res.text());
    }
    stop = true;
    await Promise.all(workers);
    assert.deepEqual(failures, []);
    assert.equal(await (await fetch(`${peer.url}/fn/ver`)).text(), "v4");
  } finally {
    await stopAll([peer]);
  }
});

Deno.test("bad input gets the contract's JSON error", opts, async (t) => {
  const peer = await startPeer();
  const expectError = async (res: Response, status: number, code: string, message?: RegExp) => {
    assert.equal(res.status, status);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/);
    const body = await res.json();
    assert.equal(body.error.code, code, JSON.stringify(body));
    if (message) assert.match(body.error.message, message);
    return body.error.message as string;
  };
  try {
    await t.step("unknown function → 404", async () => {
      await expectError(await fetch(`${peer.url}/fn/nope`), 404, "FUNCTION_NOT_FOUND");
    });
    await t.step("code that does not load → 400 with the loader's message", async () => {
      await expectError(
        await deploySource(peer, "broken", "export default {"),
        400,
        "INVALID_BUNDLE",
      );
      await expectError(
        await deploySource(peer, "nofetch", "export default { hello: 1 }"),
        400,
        "INVALID_BUNDLE",
        /fetch/,
      );
      await expectError(
        await deploySource(peer, "throws", "throw new Error('boom at load')"),
        400,
        "INVALID_BUNDLE",
        /boom at load/,
      );
    });
    await t.step("malformed deploy bodies → 400", async () => {
      const put = (body: string) =>
        fetch(`${peer.url}/v1/functions/x`, {
          method: "PUT",
          body,
          headers: { "content-type": "application/json" },
        });
      await expectError(await put("not json"), 400, "BAD_REQUEST", /JSON/);
      await expectError(await put(JSON.stringify({ code: 5 })), 400, "BAD_REQUEST", /code/);
      await expectError(
        await put(JSON.stringify({ code: "x", timeoutMs: -1 })),
        400,
        "BAD_REQUEST",
        /timeoutMs/,
      );
      await expectError(await put(JSON.stringify({ code: "x", extra: 1 })), 400, "BAD_REQUEST");
      await expectError(await deploySource(peer, "Bad.Name", "x"), 400, "BAD_REQUEST", /name/);
    });
    await t.step("a deploy past 20 MB → 413", async () => {
      const big = JSON.stringify({ code: "x".repeat(21 * 1024 * 1024) });
      await expectError(
        await fetch(`${peer.url}/v1/functions/big`, { method: "PUT", body: big }),
        413,
        "PAYLOAD_TOO_LARGE",
      );
    });
    await t.step("an invoke body past 10 MB → 413, declared or streamed", async () => {
      await deploy(peer, "echo", "echo");
      const big = new Uint8Array(11 * 1024 * 1024);
      await expectError(
        await fetch(`${peer.url}/fn/echo`, { method: "POST", body: big }),
        413,
        "PAYLOAD_TOO_LARGE",
      );
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent++ < 11) c.enqueue(new Uint8Array(1024 * 1024));
          else c.close();
        },
      });
      await expectError(
        await fetch(`${peer.url}/fn/echo`, { method: "POST", body: stream }),
        413,
        "PAYLOAD_TOO_LARGE",
      );
    });
    await t.step(
      "a function that throws → 500 with its request id; the message goes to the log",
      async () => {
        await deploySource(
          peer,
          "thrower",
          "export default { fetch() { throw new Error('kaput'); } }",
        );
        const res = await fetch(`${peer.url}/fn/thrower`);
        const id = res.headers.get("x-virgo-request-id")!;
        const message = await expectError(res, 500, "FUNCTION_ERROR");
        assert.equal(message, `The function failed; see the peer's log for request ${id}`);
        await waitFor(
          "the message in the peer's log",
          () => peer.logs.some((l) => l.includes("kaput") && l.includes(id)),
        );
      },
    );
    await t.step("a bad route header → 400; unknown routes → 404", async () => {
      await expectError(
        await fetch(`${peer.url}/fn/echo`, { headers: { "x-virgo-route": "sideways" } }),
        400,
        "BAD_REQUEST",
      );
      await expectError(await fetch(`${peer.url}/v1/nothing`), 404, "NOT_FOUND");
    });
    await t.step("the peer still serves after all of it", async () => {
      assert.equal((await fetch(`${peer.url}/healthz`)).status, 200);
    });
  } finally {
    await stopAll([peer]);
  }
});

Deno.test("SIGTERM finishes in-flight calls, then the peer exits cleanly", opts, async () => {
  const peer = await startPeer();
  try {
    await deploySource(
      peer,
      "slow",
      "export default { async fetch() { await new Promise((r) => setTimeout(r, 1500)); return new Response('done'); } }",
    );
    const inflight = fetch(`${peer.url}/fn/slow`);
    // The call is running once the peer reports it in flight.
    await waitFor(
      "the call to be in flight",
      async () => (await (await fetch(`${peer.url}/v1/status`)).json()).inflight === 1,
    );
    const code = peer.stop();
    const res = await inflight;
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "done");
    assert.equal(await code, 0);
  } finally {
    await stopAll([peer]);
  }
});
