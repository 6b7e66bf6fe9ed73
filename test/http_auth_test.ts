/**
 * Real peer processes started with `--token`: the API, the dashboard and
 * `/metrics` answer 401 without it; `/healthz` and public functions do not;
 * a private function needs it; a failing function's message reaches the
 * peer's log and the operator's `virgo invoke`, never a public caller — on
 * the peer that received the call and across a hop to another.
 */
import assert from "node:assert/strict";
import { cli, type PeerProcess, startPeer, stopAll, waitFor, waitForFunction } from "./_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const T = "http-auth-test-token";
const SECRET = "secret-detail-123";
const auth = { authorization: `Bearer ${T}` };

const THROWER = `export default { fetch() { throw new Error("${SECRET}"); } };`;
const ECHO_AUTH =
  `export default { fetch: (r) => new Response(r.headers.get("authorization") ?? "none") };`;

/** Deploys source text with the token. */
async function put(peer: PeerProcess, name: string, code: string, extra = {}) {
  const res = await fetch(`${peer.url}/v1/functions/${name}`, {
    method: "PUT",
    headers: { "content-type": "application/json", ...auth },
    body: JSON.stringify({ code, ...extra }),
  });
  const body = await res.json();
  assert.equal(res.status, 201, JSON.stringify(body));
  return body as { version: string };
}

/** The peer's log lines (JSON) that mention `text`. */
function logLines(peer: PeerProcess, text: string): Array<Record<string, unknown>> {
  return peer.logs.filter((l) => l.includes(text)).map((l) => JSON.parse(l));
}

Deno.test("with --token, every /v1 route, the dashboard and /metrics need it", opts, async () => {
  const peers: PeerProcess[] = [];
  try {
    const peer = await startPeer({ args: ["--token", T] });
    peers.push(peer);
    const routes: Array<[string, string]> = [
      ["GET", "/"],
      ["GET", "/metrics"],
      ["GET", "/v1/status"],
      ["GET", "/v1/peers"],
      ["GET", "/v1/functions"],
      ["GET", "/v1/functions/hello"],
      ["PUT", "/v1/functions/hello"],
      ["DELETE", "/v1/functions/hello"],
      ["GET", "/v1/functions/hello/secrets"],
      ["GET", "/v1/functions/hello/versions"],
      ["POST", "/v1/functions/hello/rollback"],
      ["GET", "/v1/openapi.json"],
      ["GET", "/v1/logs/hello"],
      ["GET", "/v1/logs/hello?follow=1"],
      ["GET", "/v1/kv"],
      ["GET", "/v1/kv/some/key"],
      ["PUT", "/v1/kv/some/key"],
      ["DELETE", "/v1/kv/some/key"],
      ["POST", "/v1/mem"],
      ["GET", "/v1/mem/1"],
      ["PUT", "/v1/mem/1"],
      ["DELETE", "/v1/mem/1"],
      ["POST", "/v1/backup"],
      ["GET", "/v1/no-such-route"],
    ];
    for (const [method, path] of routes) {
      for (const headers of [{}, { authorization: "Bearer not-the-token" }]) {
        const res = await fetch(`${peer.url}${path}`, { method, headers });
        const body = await res.text();
        assert.equal(res.status, 401, `${method} ${path}: ${body}`);
        assert.equal(JSON.parse(body).error.code, "UNAUTHORIZED", `${method} ${path}`);
      }
    }
    for (const path of ["/", "/metrics", "/v1/status", "/v1/peers", "/v1/functions", "/v1/kv"]) {
      const res = await fetch(`${peer.url}${path}`, { headers: auth });
      await res.body?.cancel();
      assert.equal(res.status, 200, path);
    }
    assert.equal((await fetch(`${peer.url}/healthz`)).status, 200);

    // The CLI sends the token it is given, to reads as well.
    const denied = await cli(["functions", "ls", "--peer", peer.url]);
    assert.equal(denied.code, 4);
    assert.match(denied.stderr, /UNAUTHORIZED/);
    const listed = await cli(["functions", "ls", "--peer", peer.url], { VIRGO_TOKEN: T });
    assert.equal(listed.code, 0, listed.stderr);
    const read = await cli(["kv", "ls", "--peer", peer.url, "--token", T]);
    assert.equal(read.code, 0, read.stderr);
  } finally {
    await stopAll(peers);
  }
});

Deno.test("with --token, functions: public, private, and failing ones", opts, async (t) => {
  const peers: PeerProcess[] = [];
  const dir = await Deno.makeTempDir({ prefix: "virgo-auth-" });
  try {
    const peer = await startPeer({ args: ["--token", T] });
    peers.push(peer);
    await Deno.writeTextFile(`${dir}/thrower.ts`, THROWER);
    await Deno.writeTextFile(`${dir}/echo_auth.ts`, ECHO_AUTH);
    const deploy = (entry: string, name: string, extra: string[] = []) =>
      cli(["deploy", `${dir}/${entry}`, "--name", name, "--peer", peer.url, ...extra], {
        VIRGO_TOKEN: T,
      });
    for (
      const r of [
        await deploy("thrower.ts", "thrower"),
        await deploy("echo_auth.ts", "open"),
        await deploy("echo_auth.ts", "closed", ["--private"]),
      ]
    ) {
      assert.equal(r.code, 0, r.stderr);
    }

    await t.step("/healthz and a public function answer without the token", async () => {
      assert.equal((await fetch(`${peer.url}/healthz`)).status, 200);
      const res = await fetch(`${peer.url}/fn/open`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "none");
    });

    await t.step("a private function answers 401 without the token, 200 with it", async () => {
      const denied = await fetch(`${peer.url}/fn/closed`);
      assert.equal(denied.status, 401);
      assert.equal((await denied.json()).error.code, "UNAUTHORIZED");
      const forged = await fetch(`${peer.url}/fn/closed`, { headers: { "x-virgo-admin": "1" } });
      assert.equal(forged.status, 401);
      await forged.body?.cancel();
      const ok = await fetch(`${peer.url}/fn/closed`, { headers: auth });
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), "none", "the function saw the admin token");
      const viaCli = await cli(["invoke", "closed", "--peer", peer.url], { VIRGO_TOKEN: T });
      assert.equal(viaCli.code, 0, viaCli.stderr);
      assert.equal(viaCli.stdout, "none");
      const noCli = await cli(["invoke", "closed", "--peer", peer.url]);
      assert.equal(noCli.code, 4);
      assert.match(noCli.stderr, /UNAUTHORIZED/);
    });

    await t.step("a failing function shows the public its code and request id only", async () => {
      const res = await fetch(`${peer.url}/fn/thrower`);
      assert.equal(res.status, 500);
      const id = res.headers.get("x-virgo-request-id");
      assert.ok(id);
      const body = await res.text();
      assert.ok(!body.includes(SECRET), body);
      assert.deepEqual(JSON.parse(body), {
        error: {
          code: "FUNCTION_ERROR",
          message: `The function failed; see the peer's log for request ${id}`,
        },
      });
      const [line] = await waitFor("the failure in the peer's log", () => {
        // The invoker's line (the sandbox logs the exception with its stack too).
        const lines = logLines(peer, SECRET).filter((l) =>
          l.requestId === id && l.component === "invoke"
        );
        return lines.length > 0 && lines;
      });
      assert.equal(line!.level, 50);
      assert.equal(line!.fn, "thrower");
      assert.equal(line!.code, "FUNCTION_ERROR");
      assert.equal(line!.message, SECRET);
    });

    await t.step("virgo invoke with the token shows the message", async () => {
      const shown = await cli(["invoke", "thrower", "--peer", peer.url], { VIRGO_TOKEN: T });
      assert.equal(shown.code, 1);
      assert.match(shown.stderr, /error FUNCTION_ERROR: secret-detail-123 \(request \S+\)/);
      const hidden = await cli(["invoke", "thrower", "--peer", peer.url]);
      assert.equal(hidden.code, 1);
      assert.match(hidden.stderr, /FUNCTION_ERROR: The function failed; see the peer's log/);
      assert.ok(!hidden.stderr.includes(SECRET), hidden.stderr);
    });
  } finally {
    await stopAll(peers);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "across a hop, the peer that ran a call logs it and the caller's token decides",
  opts,
  async () => {
    const peers: PeerProcess[] = [];
    try {
      const a = await startPeer({ args: ["--token", T] });
      peers.push(a);
      const b = await startPeer({ args: ["--token", T], join: [a.p2p] });
      peers.push(b);
      await put(a, "thrower", THROWER);
      await put(a, "closed", ECHO_AUTH, { public: false });
      await waitForFunction([a, b], "thrower", auth);
      await waitForFunction([a, b], "closed", auth);
      const onB = { "x-virgo-route": b.peerId };

      const pub = await fetch(`${a.url}/fn/thrower`, { headers: onB });
      assert.equal(pub.status, 500);
      assert.equal(pub.headers.get("x-virgo-peer"), b.peerId);
      const id = pub.headers.get("x-virgo-request-id")!;
      const body = await pub.json();
      assert.deepEqual(body, {
        error: {
          code: "FUNCTION_ERROR",
          message: `The function failed; see the peer's log for request ${id}`,
        },
      });
      await waitFor(
        "the failure in b's log",
        () => logLines(b, SECRET).some((l) => l.requestId === id),
      );

      const admin = await fetch(`${a.url}/fn/thrower`, { headers: { ...onB, ...auth } });
      assert.equal(admin.headers.get("x-virgo-peer"), b.peerId);
      assert.deepEqual(await admin.json(), { error: { code: "FUNCTION_ERROR", message: SECRET } });
      // a received both calls but ran neither: the message is b's to log.
      assert.deepEqual(logLines(a, SECRET), []);

      const denied = await fetch(`${a.url}/fn/closed`, { headers: onB });
      assert.equal(denied.status, 401);
      await denied.body?.cancel();
      const ok = await fetch(`${a.url}/fn/closed`, { headers: { ...onB, ...auth } });
      assert.equal(ok.status, 200);
      assert.equal(ok.headers.get("x-virgo-peer"), b.peerId);
      assert.equal(await ok.text(), "none", "the admin token crossed the mesh to the function");
    } finally {
      await stopAll(peers);
    }
  },
);
