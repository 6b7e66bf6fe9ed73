/**
 * The HTTP layer through `app.request()`, on a peer assembled from its real
 * components (LevelDB in a temp folder, sandboxes, a one-peer mesh).
 */
import assert from "node:assert/strict";
import { resolveConfig } from "./config.ts";
import { silentLogger } from "./log.ts";
import { startPeer } from "./peer.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

async function withPeer(
  fn: (app: Awaited<ReturnType<typeof startPeer>>["app"], peerId: string) => Promise<void>,
  extra: Record<string, unknown> = {},
) {
  const data = await Deno.makeTempDir({ prefix: "virgo-app-" });
  const peer = await startPeer(
    resolveConfig({ http: "127.0.0.1:0", p2p: "/ip4/127.0.0.1/tcp/0", data, ...extra }),
    silentLogger,
  );
  try {
    await fn(peer.app, peer.peerId);
  } finally {
    await peer.stop();
    await Deno.remove(data, { recursive: true });
  }
}

const json = (body: unknown) => ({
  method: "PUT",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

Deno.test("app: deploy, inspect, invoke, remove", opts, () =>
  withPeer(async (app, peerId) => {
    const code = "export default { fetch: (r) => new Response(new URL(r.url).pathname) }";
    const put = await app.request("/v1/functions/path", json({ code, vars: { A: "1" } }));
    assert.equal(put.status, 201);
    const meta = await put.json();
    assert.equal(meta.name, "path");
    assert.equal(meta.size, code.length);
    const res = await app.request("/fn/path/a/b?c=d");
    assert.equal(await res.text(), "/a/b");
    assert.equal(res.headers.get("x-virgo-peer"), peerId);
    const info = await (await app.request("/v1/functions/path")).json();
    assert.deepEqual(info.vars, { A: "1" });
    assert.equal(info.version, meta.version);
    const list = await (await app.request("/v1/functions")).json();
    assert.deepEqual(list.functions.map((f: { name: string }) => f.name), ["path"]);
    assert.equal((await app.request("/v1/functions/path", { method: "DELETE" })).status, 200);
    assert.equal((await app.request("/fn/path")).status, 404);
  }));

Deno.test("app: errors have the contract's shape", opts, () =>
  withPeer(async (app) => {
    const cases: Array<[Promise<Response> | Response, number, string]> = [
      [app.request("/fn/missing"), 404, "FUNCTION_NOT_FOUND"],
      [app.request("/v1/functions/UPPER", json({ code: "x" })), 400, "BAD_REQUEST"],
      [app.request("/v1/functions/x", json({})), 400, "BAD_REQUEST"],
      [app.request("/v1/functions/x", json({ code: "export default {}" })), 400, "INVALID_BUNDLE"],
      [app.request("/v1/kv/missing"), 404, "NOT_FOUND"],
      [app.request("/v1/kv?limit=5000"), 400, "BAD_REQUEST"],
      [app.request("/v1/mem", { method: "POST", body: "[]" }), 400, "BAD_REQUEST"],
      [app.request("/v1/mem/garbage"), 400, "INVALID_ADDRESS"],
      [
        app.request("/fn/missing", { headers: { "x-virgo-route": "nowhere" } }),
        404,
        "FUNCTION_NOT_FOUND",
      ],
      [app.request("/nothing-here"), 404, "NOT_FOUND"],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      const body = await res.json();
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, "string");
    }
  }));

Deno.test("app: kv round trip with versions and If-Match", opts, () =>
  withPeer(async (app) => {
    const first = await app.request("/v1/kv/a/b", { method: "PUT", body: "one" });
    assert.equal(first.status, 200);
    const v1 = first.headers.get("x-virgo-version")!;
    const get = await app.request("/v1/kv/a/b");
    assert.equal(await get.text(), "one");
    assert.equal(get.headers.get("x-virgo-version"), v1);
    const stale = await app.request("/v1/kv/a/b", {
      method: "PUT",
      body: "two",
      headers: { "if-match": "0" },
    });
    assert.equal(stale.status, 412);
    const ok = await app.request("/v1/kv/a/b", {
      method: "PUT",
      body: "two",
      headers: { "if-match": `"${v1}"` },
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(await (await app.request("/v1/kv?prefix=a/")).json(), { keys: ["a/b"] });
  }));

Deno.test(
  "app: with a token, mutations need it and reads do not",
  opts,
  () =>
    withPeer(async (app) => {
      const denied = await app.request("/v1/kv/k", { method: "PUT", body: "x" });
      assert.equal(denied.status, 401);
      assert.equal((await denied.json()).error.code, "UNAUTHORIZED");
      const wrong = await app.request("/v1/kv/k", {
        method: "PUT",
        body: "x",
        headers: { authorization: "Bearer nope-nope" },
      });
      assert.equal(wrong.status, 401);
      const ok = await app.request("/v1/kv/k", {
        method: "PUT",
        body: "x",
        headers: { authorization: "Bearer s3cret-token" },
      });
      assert.equal(ok.status, 200);
      assert.equal((await app.request("/v1/kv/k")).status, 200);
      assert.equal((await app.request("/v1/status")).status, 200);
    }, { token: "s3cret-token" }),
);

Deno.test(
  "app: health, metrics, peers, status and the dashboard",
  opts,
  () =>
    withPeer(async (app, peerId) => {
      assert.deepEqual(await (await app.request("/healthz")).json(), { ok: true, peerId });
      const metrics = await (await app.request("/metrics")).text();
      assert.match(metrics, /virgo_mesh_peers 1/);
      const peers = await (await app.request("/v1/peers")).json();
      assert.equal(peers.peers[0].peerId, peerId);
      const status = await (await app.request("/v1/status")).json();
      assert.equal(status.peerId, peerId);
      assert.equal(status.routing, "p2c");
      const page = await app.request("/");
      assert.match(await page.text(), /<title>Virgo/);
    }),
);
