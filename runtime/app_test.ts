/**
 * The HTTP layer through `app.request()`, on the app built from light parts (see
 * `_testing.ts`): an in-memory database and pool, a mesh of one peer in memory, real
 * sandboxes. Whole peers are tested over HTTP in `test/`.
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { adminAuth, tokenCheck } from "./auth.ts";
import { functionName } from "./app.ts";
import { type LogLine, startTestApp, type TestAppOptions } from "./_testing.ts";
import { generateOperatorKey, loadOperator } from "./catalog/mod.ts";

async function withApp(
  fn: (app: Hono, peerId: string, logs: LogLine[]) => Promise<void>,
  extra: TestAppOptions = {},
) {
  await using t = await startTestApp(extra);
  await fn(t.app, t.peerId, t.logs);
}

const json = (body: unknown) => ({
  method: "PUT",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

Deno.test("app: deploy, inspect, invoke, remove", () =>
  withApp(async (app, peerId) => {
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

Deno.test("app: versions list newest first with the current marked; rollback switches back", () =>
  withApp(async (app) => {
    const deploy = async (tag: string) => {
      const code = `export default { fetch: () => new Response("${tag}") }`;
      const res = await app.request("/v1/functions/ver", json({ code }));
      assert.equal(res.status, 201);
      return (await res.json()).version as string;
    };
    const rollback = (body?: unknown) =>
      app.request("/v1/functions/ver/rollback", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: body === undefined ? null : JSON.stringify(body),
      });
    const listed = async () => {
      const res = await app.request("/v1/functions/ver/versions");
      assert.equal(res.status, 200);
      const body = await res.json();
      return {
        current: body.current,
        rows: body.versions.map((v: { version: string; current: boolean }) => [
          v.version,
          v.current,
        ]),
        first: body.versions[0],
      };
    };
    const expectError = async (res: Response, status: number, code: string, message: RegExp) => {
      const body = await res.json();
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(body.error.code, code);
      assert.match(body.error.message, message);
    };
    const one = await deploy("one");
    await expectError(await rollback(), 409, "CONFLICT", /^ver has no version older than /);
    const two = await deploy("two");
    const three = await deploy("three");
    const before = await listed();
    assert.deepEqual(before.rows, [[three, true], [two, false], [one, false]]);
    assert.equal(before.current, three);
    // What a rollback restores, and nothing secret.
    assert.deepEqual(Object.keys(before.first).sort(), [
      "allowLoopback",
      "allowPrivate",
      "current",
      "deployedAt",
      "hash",
      "kvNamespace",
      "memoryMb",
      "origin",
      "public",
      "size",
      "timeoutMs",
      "vars",
      "version",
    ]);
    // The inspect route shows the current entry, not its history.
    assert.equal((await (await app.request("/v1/functions/ver")).json()).history, undefined);

    // No body: the version below the current one.
    const back = await rollback();
    assert.equal(back.status, 200);
    const now = await (await app.request("/v1/functions/ver")).json();
    assert.deepEqual(await back.json(), {
      name: "ver",
      version: two,
      from: three,
      hash: now.hash,
      size: now.size,
    });
    assert.equal(now.version, two);
    assert.equal(await (await app.request("/fn/ver")).text(), "two");
    assert.deepEqual((await listed()).rows, [[three, false], [two, true], [one, false]]);
    // A prefix names a version.
    const chosen = await rollback({ version: one.slice(0, 5) });
    assert.equal(chosen.status, 200);
    assert.equal((await chosen.json()).version, one);
    assert.equal(await (await app.request("/fn/ver")).text(), "one");

    await expectError(await rollback(), 409, "CONFLICT", /^ver has no version older than /);
    await expectError(
      await rollback({ version: one }),
      409,
      "CONFLICT",
      /is already the current version of ver$/,
    );
    await expectError(
      await rollback({ version: "abcdef0123456789" }),
      404,
      "NOT_FOUND",
      /^ver has no kept version abcdef0123456789 \(virgo versions ver lists them\)$/,
    );
    await expectError(await rollback({ version: "xyz" }), 400, "BAD_REQUEST", /rollback body/);
    await expectError(await rollback({ version: one, extra: 1 }), 400, "BAD_REQUEST", /body/);
    await expectError(
      await app.request("/v1/functions/nothere/versions"),
      404,
      "FUNCTION_NOT_FOUND",
      /^No function named nothere$/,
    );
    await expectError(
      await app.request("/v1/functions/nothere/rollback", { method: "POST" }),
      404,
      "FUNCTION_NOT_FOUND",
      /^No function named nothere$/,
    );
    // A delete forgets the versions with the function.
    assert.equal((await app.request("/v1/functions/ver", { method: "DELETE" })).status, 200);
    await expectError(
      await app.request("/v1/functions/ver/versions"),
      404,
      "FUNCTION_NOT_FOUND",
      /ver/,
    );
    await deploy("again");
    assert.equal((await listed()).rows.length, 1);
  }));

Deno.test("app: a peer holding only the operator's public key refuses a rollback, as a deploy", async () => {
  const { publicKey } = await generateOperatorKey();
  await using t = await startTestApp({ operator: (await loadOperator({ publicKey }))! });
  const refused = [
    await t.app.request("/v1/functions/ver/rollback", { method: "POST" }),
    await t.app.request(
      "/v1/functions/ver",
      json({ code: "export default { fetch: () => new Response('x') }" }),
    ),
  ];
  for (const res of refused) {
    const body = await res.json();
    assert.equal(res.status, 403);
    assert.equal(body.error.code, "FORBIDDEN");
    assert.match(body.error.message, /^This peer holds only the operator's public key/);
  }
});

Deno.test("app: errors have the contract's shape", () =>
  withApp(async (app) => {
    const code = "export default { fetch: () => new Response('ran') }";
    assert.equal((await app.request("/v1/functions/there", json({ code }))).status, 201);
    const cases: Array<[Promise<Response> | Response, number, string]> = [
      [app.request("/fn/missing"), 404, "FUNCTION_NOT_FOUND"],
      [app.request("/v1/functions/UPPER", json({ code: "x" })), 400, "BAD_REQUEST"],
      [app.request("/v1/functions/x", json({})), 400, "BAD_REQUEST"],
      [app.request("/v1/functions/x", json({ code: "export default {}" })), 400, "INVALID_BUNDLE"],
      [app.request("/v1/kv/missing"), 404, "NOT_FOUND"],
      [app.request("/v1/kv?limit=5000"), 400, "BAD_REQUEST"],
      [app.request("/v1/mem", { method: "POST", body: "[]" }), 400, "BAD_REQUEST"],
      [app.request("/v1/mem/garbage"), 400, "INVALID_ADDRESS"],
      // The route is checked once the function is found: ask one that exists.
      [app.request("/fn/there", { headers: { "x-virgo-route": "nowhere" } }), 400, "BAD_REQUEST"],
      [app.request("/nothing-here"), 404, "NOT_FOUND"],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      const body = await res.json();
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, "string");
    }
    const route = await (await app.request("/fn/there", {
      headers: { "x-virgo-route": "nowhere" },
    })).json();
    assert.match(route.error.message, /^Invalid x-virgo-route: expected local, .*: nowhere$/);
    // A good route to the same function runs it: the 400 above was the route's.
    const pinned = await app.request("/fn/there", { headers: { "x-virgo-route": "local" } });
    assert.equal(await pinned.text(), "ran");
  }));

Deno.test("app: kv round trip with versions and If-Match", () =>
  withApp(async (app) => {
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

const TOKEN = "s3cret-token";
const bearer = { authorization: `Bearer ${TOKEN}` };
/** The contract's public paths, written out here so a change to the app's list fails this file. */
const isPublic = (path: string) =>
  path === "/healthz" || path === "/signin" || path.startsWith("/fn/");

/** A request path for a route pattern: each param and wildcard filled with a sample value. */
function samplePath(pattern: string): string {
  return pattern.replace(/:\w+(\{[^}]*\})?/g, "1").replace(/\*/g, "1");
}

/**
 * Every route the app has registered (middleware included), each asked with
 * and without the token. Returns what breaks the rule: outside the public
 * paths, 401 without the token and not 401 with it; on them, never 401.
 */
async function guardGaps(app: Hono, token: string): Promise<string[]> {
  const gaps: string[] = [];
  const seen = new Set<string>();
  for (const route of app.routes) {
    const method = route.method === "ALL" ? "GET" : route.method;
    const path = samplePath(route.path);
    if (seen.has(`${method} ${path}`)) continue;
    seen.add(`${method} ${path}`);
    const without = await app.request(path, { method });
    await without.body?.cancel();
    const withToken = await app.request(path, {
      method,
      headers: { authorization: `Bearer ${token}` },
    });
    await withToken.body?.cancel();
    const what = `${route.method} ${route.path} (${method} ${path})`;
    if (isPublic(path)) {
      if (without.status === 401) gaps.push(`${what}: public, yet 401 without the token`);
    } else {
      if (without.status !== 401) gaps.push(`${what}: ${without.status} without the token`);
      if (withToken.status === 401) gaps.push(`${what}: 401 with the token`);
    }
  }
  return gaps;
}

Deno.test(
  "app: with a token, every route but /healthz and /fn/* needs it",
  () =>
    withApp(async (app) => {
      // A route added to the built app (before its first request, as hono
      // requires) is guarded without anyone listing it.
      app.get("/v1/added-later", (c) => c.text("later"));
      app.get("/added-later", (c) => c.text("later"));
      const patterns = app.routes.map((r) => `${r.method} ${r.path}`);
      // The enumeration sees the routes the contract names, so an empty list cannot pass.
      for (
        const p of [
          "GET /",
          "GET /metrics",
          "GET /healthz",
          "GET /v1/status",
          "GET /v1/peers",
          "GET /v1/functions",
          "GET /v1/functions/:name",
          "GET /v1/kv",
          "GET /v1/kv/:key{.+}",
          "GET /v1/mem/:addr",
          "POST /v1/mem",
          "PUT /v1/functions/:name",
          "GET /v1/functions/:name/versions",
          "POST /v1/functions/:name/rollback",
          "GET /added-later",
        ]
      ) {
        assert.ok(patterns.includes(p), `${p} not in ${patterns.join(", ")}`);
      }
      assert.deepEqual(await guardGaps(app, TOKEN), []);

      const denied = await app.request("/v1/kv/k");
      assert.equal(denied.status, 401);
      assert.match(denied.headers.get("content-type") ?? "", /application\/json/);
      assert.equal((await denied.json()).error.code, "UNAUTHORIZED");
      const wrong = await app.request("/v1/status", {
        headers: { authorization: "Bearer nope-nope" },
      });
      assert.equal(wrong.status, 401);
      assert.equal((await wrong.json()).error.code, "UNAUTHORIZED");
      assert.equal((await app.request("/healthz")).status, 200);
      assert.equal((await app.request("/added-later")).status, 401);
      assert.equal((await app.request("/added-later", { headers: bearer })).status, 200);
    }, { token: TOKEN }),
);

Deno.test("app: the route check reports a route that answers without the token", async () => {
  const leaky = new Hono();
  leaky.get("/v1/leak/:id", (c) => c.text("leak"));
  leaky.use("*", adminAuth(tokenCheck(TOKEN)));
  leaky.get("/v1/guarded", (c) => c.text("ok"));
  assert.deepEqual(await guardGaps(leaky, TOKEN), [
    "GET /v1/leak/:id (GET /v1/leak/1): 200 without the token",
  ]);
});

Deno.test(
  "app: with a token, public functions answer everyone and private ones only the token",
  () =>
    withApp(async (app) => {
      const code =
        "export default { fetch: (r) => new Response(r.headers.get('authorization') ?? 'none') }";
      const put = (name: string, extra: Record<string, unknown>) =>
        app.request(`/v1/functions/${name}`, {
          method: "PUT",
          headers: { "content-type": "application/json", ...bearer },
          body: JSON.stringify({ code, ...extra }),
        });
      assert.equal((await put("open", {})).status, 201);
      assert.equal((await put("closed", { public: false })).status, 201);
      assert.equal((await app.request("/fn/open")).status, 200);
      const denied = await app.request("/fn/closed");
      assert.equal(denied.status, 401);
      assert.equal((await denied.json()).error.code, "UNAUTHORIZED");
      const forged = await app.request("/fn/closed", { headers: { "x-virgo-admin": "1" } });
      assert.equal(forged.status, 401);
      await forged.body?.cancel();
      const wrong = await app.request("/fn/closed", {
        headers: { authorization: "Bearer nope-nope" },
      });
      assert.equal(wrong.status, 401);
      await wrong.body?.cancel();
      const ok = await app.request("/fn/closed/a", { headers: bearer });
      assert.equal(ok.status, 200);
      // The admin token is for the peer: the function never sees it.
      assert.equal(await ok.text(), "none");
      assert.equal(
        await (await app.request("/fn/open", { headers: { authorization: "Bearer app-user" } }))
          .text(),
        "Bearer app-user",
      );
    }, { token: TOKEN }),
);

Deno.test(
  "app: a failing function shows its message to the token only",
  () =>
    withApp(async (app, peerId) => {
      const put = await app.request("/v1/functions/thrower", {
        method: "PUT",
        headers: { "content-type": "application/json", ...bearer },
        body: JSON.stringify({
          code: "export default { fetch() { throw new Error('secret-detail-123'); } }",
        }),
      });
      assert.equal(put.status, 201);
      const res = await app.request("/fn/thrower");
      assert.equal(res.status, 500);
      const id = res.headers.get("x-virgo-request-id");
      assert.ok(id);
      assert.equal(res.headers.get("x-virgo-peer"), peerId);
      const text = await res.text();
      assert.ok(!text.includes("secret-detail-123"), text);
      assert.deepEqual(JSON.parse(text), {
        error: {
          code: "FUNCTION_ERROR",
          message: `The function failed; see the peer's log for request ${id}`,
        },
      });
      const admin = await app.request("/fn/thrower", { headers: bearer });
      assert.equal(admin.status, 500);
      assert.deepEqual(await admin.json(), {
        error: { code: "FUNCTION_ERROR", message: "secret-detail-123" },
      });
    }, { token: TOKEN }),
);

Deno.test(
  "app: without a token nothing needs one, and a failing function's message still stays in the log",
  () =>
    withApp(async (app, _peerId, logs) => {
      const code = "export default { fetch(r) { if (new URL(r.url).pathname === '/boom') " +
        "throw new Error('secret-detail-123'); return new Response('ok'); } }";
      const put = await app.request("/v1/functions/closed", json({ code, public: false }));
      assert.equal(put.status, 201);
      assert.equal(await (await app.request("/fn/closed")).text(), "ok");
      assert.equal((await app.request("/v1/status")).status, 200);
      assert.equal((await app.request("/metrics")).status, 200);
      const boom = await app.request("/fn/closed/boom");
      assert.equal(boom.status, 500);
      const body = await boom.json();
      assert.equal(body.error.code, "FUNCTION_ERROR");
      assert.ok(!body.error.message.includes("secret-detail-123"), body.error.message);
      const id = boom.headers.get("x-virgo-request-id");
      const line = logs.find((l) =>
        l.obj.requestId === id && l.level === "error" && l.obj.component === "invoke"
      );
      assert.deepEqual(line?.obj, {
        component: "invoke",
        fn: "closed",
        requestId: id,
        code: "FUNCTION_ERROR",
        message: "secret-detail-123",
      });
    }),
);

Deno.test("app: an unknown error answers a generic 500, never its own text", () =>
  withApp(async (app, _peerId, logs) => {
    const detail = "at /home/someone/virgo/runtime/secret.ts:12:3";
    app.get("/v1/explodes", () => {
      throw new Error(detail);
    });
    const res = await app.request("/v1/explodes");
    assert.equal(res.status, 500);
    assert.deepEqual(await res.json(), { error: { code: "INTERNAL", message: "Internal error" } });
    // Its text is for the operator: the peer's log has it.
    assert.ok(logs.some((l) => l.level === "error" && String(l.obj.err).includes(detail)));
  }));

Deno.test(
  "app: health, peers, status, metrics of the API and the dashboard's page and sources",
  () =>
    withApp(async (app, peerId) => {
      assert.deepEqual(await (await app.request("/healthz")).json(), { ok: true, peerId });
      const peers = await (await app.request("/v1/peers")).json();
      assert.deepEqual(
        [peers.self, peers.count, peers.peers[0].peerId, peers.peers[0].self, peers.members],
        [peerId, 1, peerId, true, [{ peerId, up: true }]],
      );
      const status = await (await app.request("/v1/status")).json();
      assert.equal(status.peerId, peerId);
      assert.equal(status.routing, "p2c");
      // The API's requests are counted by route and status.
      const metrics = await app.request("/metrics");
      assert.match(metrics.headers.get("content-type") ?? "", /^text\/plain/);
      assert.match(
        await metrics.text(),
        /^virgo_http_requests_total\{route="[^"]*",status="200"\} [1-9]/m,
      );
      // The page names its peer and reads its snapshot from the dashboard's own routes (the
      // dashboard is tested in runtime/dashboard/ and, in a browser, in test/browser_test.ts).
      const page = await app.request("/");
      assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
      const html = await page.text();
      assert.ok(html.includes(`<code>${peerId}</code>`), "the page names its peer");
      assert.ok(html.includes(`new EventSource("/dashboard/events")`));
      const snapshot = await (await app.request("/dashboard/state")).json();
      assert.equal(snapshot.self, peerId);
    }),
);

/**
 * A request as `Deno.serve` hands it over, with any method: the Fetch
 * standard's constructor refuses CONNECT, TRACE and TRACK and upper-cases
 * `get`, yet the HTTP server passes them as they came.
 */
function served(method: string, path: string, init: RequestInit = {}): Request {
  const standIn = ["GET", "HEAD"].includes(method.toUpperCase()) ? "GET" : "POST";
  const req = new Request(`http://peer${path}`, { ...init, method: standIn });
  Object.defineProperty(req, "method", { value: method, enumerable: true });
  return req;
}

Deno.test("app: any method on /fn/* goes to the invoker", () =>
  withApp(async (app) => {
    const code = "export default { fetch: (r) => new Response(r.method) }";
    assert.equal((await app.request("/v1/functions/m", json({ code }))).status, 201);
    // As the Fetch API spells them: the invoker upper-cases the six methods it normalises.
    const spelled: Array<[string, string]> = [
      ["GET", "GET"],
      ["get", "GET"],
      ["POST", "POST"],
      ["patch", "patch"],
      ["M-SEARCH", "M-SEARCH"],
      ["PROPFIND", "PROPFIND"],
      ["X".repeat(100), "X".repeat(100)],
    ];
    for (const [method, seen] of spelled) {
      const res = await app.fetch(served(method, "/fn/m/a?b=c"));
      assert.equal(res.status, 200, method);
      assert.equal(await res.text(), seen);
    }
    // Methods the Fetch API cannot carry: the invoker (it names the request) answers 405 JSON.
    for (const method of ["TRACE", "TRACK", "trace", "CONNECT"]) {
      for (const path of ["/fn/m", "/fn/missing/x"]) {
        const res = await app.fetch(served(method, path));
        assert.equal(res.status, 405, `${method} ${path}`);
        assert.ok(res.headers.get("x-virgo-request-id"), `${method} ${path}: not the invoker's`);
        assert.equal((await res.json()).error.code, "METHOD_NOT_ALLOWED");
      }
    }
  }));

Deno.test(
  "app: elsewhere, a method a path lacks is 405 JSON with Allow; an unknown path 404",
  () =>
    withApp(async (app) => {
      const cases: Array<[string, string, number, string | null]> = [
        ["POST", "/healthz", 405, "GET, HEAD"],
        ["get", "/healthz", 405, "GET, HEAD"],
        ["TRACE", "/v1/status", 405, "GET, HEAD"],
        ["DELETE", "/", 405, "GET, HEAD"],
        ["PATCH", "/v1/kv/a/b", 405, "DELETE, GET, HEAD, PUT"],
        ["POST", "/v1/functions/x", 405, "DELETE, GET, HEAD, PUT"],
        ["GET", "/v1/mem", 405, "POST"],
        ["PUT", "/v1/peers/x", 405, "DELETE"],
        ["TRACK", "/nowhere", 404, null],
        ["GET", "/v1/nowhere", 404, null],
        ["GET", "/fn", 404, null],
      ];
      for (const [method, path, status, allow] of cases) {
        const res = await app.fetch(served(method, path));
        const body = await res.json();
        assert.equal(res.status, status, `${method} ${path}: ${JSON.stringify(body)}`);
        assert.equal(body.error.code, status === 405 ? "METHOD_NOT_ALLOWED" : "NOT_FOUND");
        assert.equal(res.headers.get("allow"), allow, `${method} ${path}`);
      }
      // HEAD on a GET route is served, as hono does.
      assert.equal((await app.request("/healthz", { method: "HEAD" })).status, 200);
    }),
);

Deno.test(
  "app: with a token, a method a path lacks is 401 before 405",
  () =>
    withApp(async (app) => {
      assert.equal((await app.fetch(served("POST", "/v1/status"))).status, 401);
      const res = await app.fetch(served("POST", "/v1/status", { headers: bearer }));
      assert.equal(res.status, 405);
      assert.equal((await res.json()).error.code, "METHOD_NOT_ALLOWED");
      assert.equal((await app.fetch(served("POST", "/healthz"))).status, 405);
    }, { token: TOKEN }),
);

Deno.test("app: functionName finds the plain name of /fn/<name>[/…] URLs, the routes take the rest", () => {
  const cases: Array<[string, string | undefined]> = [
    ["http://peer/fn/hello", "hello"],
    ["http://peer:8080/fn/hello/a/b?c=d", "hello"],
    ["http://peer/fn/hello?x=/fn/y", "hello"],
    ["http://peer/fn/hello#frag", "hello"],
    ["http://peer/fn/hello/", "hello"],
    ["http://peer/fn/", undefined],
    ["http://peer/fn", undefined],
    ["http://peer/fn/h%65llo", undefined],
    ["http://peer//fn/hello", undefined],
    ["http://peer/v1/fn/hello", undefined],
    ["http://peer/?/fn/hello", undefined],
  ];
  for (const [url, name] of cases) assert.equal(functionName(url), name, url);
});

Deno.test(
  "app: a call answers the same whether it takes the fast path or hono's routes",
  () =>
    withApp(async (app) => {
      const deployed = async (name: string, code: string, extra: Record<string, unknown> = {}) => {
        const res = await app.request(`/v1/functions/${name}`, {
          method: "PUT",
          headers: { "content-type": "application/json", ...bearer },
          body: JSON.stringify({ code, ...extra }),
        });
        assert.equal(res.status, 201, await res.text());
      };
      const echo = `export default { async fetch(r) {
        const u = new URL(r.url);
        return Response.json({
          method: r.method, path: u.pathname, query: u.search, body: await r.text(),
          header: r.headers.get("x-mine"), auth: r.headers.get("authorization"),
          admin: r.headers.get("x-virgo-admin"),
        }, { status: 201, headers: { "x-out": "yes" } });
      } }`;
      await deployed("echo", echo);
      await deployed("closed", echo, { public: false });
      await deployed("boom", "export default { fetch() { throw new Error('kaput') } }");
      // The same call by the fast path (`/fn/<name>`) and by the routes: a `%` in the name is
      // left to hono, which decodes it (`%65` is `e`, `%6F` is `o`).
      const calls: Array<[string, string, string, RequestInit]> = [
        ["echo/a/b?c=d&e", "%65cho/a/b?c=d&e", "POST", {
          body: "payload",
          headers: { "x-mine": "mine", authorization: "Bearer app-user", "x-virgo-admin": "1" },
        }],
        ["echo", "%65cho", "GET", {}],
        ["echo/", "%65cho/", "DELETE", {}],
        ["closed/x", "cl%6Fsed/x", "GET", {}],
        ["closed/x", "cl%6Fsed/x", "GET", { headers: { authorization: "Bearer nope-nope" } }],
        ["closed/x", "cl%6Fsed/x", "PUT", { headers: bearer, body: "admin" }],
        ["missing", "m%69ssing", "GET", {}],
        ["boom", "b%6Fom", "GET", {}],
        ["boom", "b%6Fom", "GET", { headers: bearer }],
        ["echo", "%65cho", "GET", { headers: { "x-virgo-route": "nowhere" } }],
      ];
      // Each call has its own request id; the rest must be alike.
      const seen = async (res: Response) => {
        const id = res.headers.get("x-request-id") ?? "none";
        const headers = [...res.headers].filter(([k]) => !/^x-(virgo-)?request-id$/.test(k));
        return { status: res.status, headers, text: (await res.text()).replaceAll(id, "<id>") };
      };
      for (const [fast, routed, method, init] of calls) {
        assert.equal(functionName(`http://peer/fn/${fast}`), fast.split(/[/?]/)[0]);
        assert.equal(functionName(`http://peer/fn/${routed}`), undefined);
        const a = await seen(await app.request(`/fn/${fast}`, { method, ...init }));
        const b = await seen(await app.request(`/fn/${routed}`, { method, ...init }));
        assert.deepEqual(b, a, `${method} /fn/${fast}`);
      }
    }, { token: TOKEN }),
);
