/**
 * The app's own OpenAPI document: every route the app serves is in it (so a
 * route added without a declaration fails here), the responses the routes
 * really give match the schemas they declare, and the reference page is
 * served whole, with nothing to fetch from elsewhere, behind the token.
 */
import assert from "node:assert/strict";
import type { Hono } from "hono";
import type { z } from "zod";
import { startTestApp } from "../_testing.ts";
import { openapiPath, specOf, undeclaredRoutes } from "../openapi/mod.ts";

const TOKEN = "s3cret-token";
const auth = { authorization: `Bearer ${TOKEN}` };

/**
 * The middleware of the app (`app.use`): the token guard and the `/v1` metrics. Anything else
 * in `app.routes` is a route, and must be declared.
 */
const MIDDLEWARE = new Set(["ALL /*", "ALL /v1/*"]);

type Doc = { paths: Record<string, Record<string, unknown>>; openapi: string };

async function documentOf(app: Hono): Promise<Doc> {
  const res = await app.request("/v1/openapi.json", { headers: auth });
  assert.equal(res.status, 200);
  return await res.json();
}

Deno.test("openapi: every route the app serves is in /v1/openapi.json", async () => {
  await using t = await startTestApp({ token: TOKEN });
  const doc = await documentOf(t.app);
  assert.equal(doc.openapi, "3.1.0");
  // What the app serves, from hono's own list: the enumeration is not empty, so this can fail.
  const served = t.app.routes.filter((r) => !MIDDLEWARE.has(`${r.method} ${r.path}`));
  assert.ok(served.length >= 25, `only ${served.length} routes`);
  assert.deepEqual(undeclaredRoutes(t.app).filter((r) => !MIDDLEWARE.has(r)), []);
  for (const r of served) {
    const item = doc.paths[openapiPath(r.path)];
    assert.ok(item, `${r.method} ${r.path} has no path in the document`);
    const methods = r.method === "ALL"
      ? ["get", "post", "put", "delete"]
      : [r.method.toLowerCase()];
    for (const m of methods) assert.ok(item[m], `${r.method} ${r.path}: no ${m} operation`);
  }
  // And nothing in the document that the app does not serve.
  const servedPaths = new Set(served.map((r) => openapiPath(r.path)));
  assert.deepEqual(Object.keys(doc.paths).filter((p) => !servedPaths.has(p)), []);
});

Deno.test("openapi: a route added without a declaration is caught", async () => {
  await using t = await startTestApp();
  t.app.get("/v1/added-later", (c) => c.text("later"));
  assert.deepEqual(undeclaredRoutes(t.app).filter((r) => !MIDDLEWARE.has(r)), [
    "GET /v1/added-later",
  ]);
  const doc = await documentOf(t.app);
  assert.ok(!("/v1/added-later" in doc.paths));
});

Deno.test("openapi: the document's security follows the token guard", async () => {
  await using t = await startTestApp({ token: TOKEN });
  const doc = await documentOf(t.app) as Doc & { security: unknown };
  assert.deepEqual(doc.security, [{ bearer: [] }]);
  const op = (path: string, m: string) => doc.paths[path]![m] as Record<string, unknown>;
  assert.deepEqual(op("/healthz", "get").security, []);
  assert.deepEqual(op("/signin", "post").security, []);
  assert.deepEqual(op("/fn/{name}/{path}", "post").security, []);
  assert.equal(op("/v1/functions/{name}", "put").security, undefined);
  assert.ok("401" in (op("/v1/kv/{key}", "get").responses as object));
  // Without the token, the document and the page answer 401 like the rest of /v1.
  for (const path of ["/v1/openapi.json", "/v1/docs"]) {
    const res = await t.app.request(path);
    assert.equal(res.status, 401, path);
    assert.equal((await res.json()).error.code, "UNAUTHORIZED");
  }
  // A browser gets the page with a dashboard session instead of the token.
  const signin = await t.app.request("/signin", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: TOKEN }),
  });
  assert.equal(signin.status, 303);
  const cookie = (signin.headers.get("set-cookie") ?? "").split(";")[0]!;
  for (const path of ["/dashboard/docs", "/dashboard/openapi.json"]) {
    assert.equal((await t.app.request(path)).status, 401, path);
    const res = await t.app.request(path, { headers: { cookie } });
    assert.equal(res.status, 200, path);
    await res.body?.cancel();
  }
  // The session stands for the token on the dashboard's paths only, never on /v1.
  assert.equal((await t.app.request("/v1/docs", { headers: { cookie } })).status, 401);
});

/** The zod schema a route declares for a status, found from the app's routes. */
function declared(app: Hono, method: string, pattern: string, status: number): z.ZodType {
  const r = app.routes.find((r) => r.method === method && r.path === pattern);
  const schema = r && specOf(r.handler)?.responses[status]?.json;
  assert.ok(schema, `${method} ${pattern} declares no JSON ${status}`);
  return schema;
}

Deno.test("openapi: the routes answer what their declarations say", async () => {
  await using t = await startTestApp();
  const app = t.app;
  const code = "export default { fetch: () => new Response('hi') }";
  const calls: Array<[string, string, string, RequestInit?]> = [
    ["PUT", "/v1/functions/:name", "/v1/functions/doc", {
      body: JSON.stringify({ code, vars: { A: "1" } }),
    }],
    ["PUT", "/v1/functions/:name/secrets/:key", "/v1/functions/doc/secrets/K", { body: "v" }],
    ["PUT", "/v1/functions/:name", "/v1/functions/doc", { body: JSON.stringify({ code }) }],
    ["GET", "/v1/functions", "/v1/functions"],
    ["GET", "/v1/functions/:name", "/v1/functions/doc"],
    ["GET", "/v1/functions/:name/secrets", "/v1/functions/doc/secrets"],
    ["GET", "/v1/functions/:name/versions", "/v1/functions/doc/versions"],
    ["POST", "/v1/functions/:name/rollback", "/v1/functions/doc/rollback"],
    ["DELETE", "/v1/functions/:name/secrets/:key", "/v1/functions/doc/secrets/K"],
    ["DELETE", "/v1/functions/:name", "/v1/functions/doc"],
    ["PUT", "/v1/kv/:key{.+}", "/v1/kv/a/b?ttl=60", { body: "v" }],
    ["GET", "/v1/kv", "/v1/kv?prefix=a/&limit=1"],
    ["DELETE", "/v1/kv/:key{.+}", "/v1/kv/a/b"],
    ["POST", "/v1/mem", "/v1/mem", { body: JSON.stringify({ size: 8 }) }],
    ["GET", "/v1/peers", "/v1/peers"],
    ["GET", "/v1/status", "/v1/status"],
    ["GET", "/healthz", "/healthz"],
  ];
  let addr = "";
  for (const [method, pattern, path, init] of calls) {
    const res = await app.request(path, { method, ...init });
    const body = await res.json();
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(body)}`);
    const schema = declared(app, method, pattern, res.status);
    const parsed = schema.safeParse(body);
    assert.ok(parsed.success, `${method} ${path}: ${parsed.error?.message}`);
    // Nothing left out of the schema either (zod drops keys it does not know).
    assert.deepEqual(parsed.data, body, `${method} ${path}`);
    if (pattern === "/v1/mem") addr = body.addr;
  }
  for (const [method, init] of [["PUT", { body: "abc" }], ["DELETE", {}]] as const) {
    const res = await app.request(`/v1/mem/${addr}`, { method, ...init });
    const body = await res.json();
    assert.deepEqual(declared(app, method, "/v1/mem/:addr", 200).parse(body), body);
  }
});

Deno.test("openapi: /v1/docs renders every operation, with nothing fetched from elsewhere", async () => {
  await using t = await startTestApp({ token: TOKEN });
  const doc = await documentOf(t.app);
  const res = await t.app.request("/v1/docs", { headers: auth });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  assert.equal(
    res.headers.get("content-security-policy"),
    "default-src 'none'; style-src 'unsafe-inline'",
  );
  const html = await res.text();
  for (const path of Object.keys(doc.paths)) assert.ok(html.includes(path), `${path} not shown`);
  // No script, stylesheet, image or font from anywhere: the page is whole as served.
  assert.doesNotMatch(html, /<script|<link|<img|@import|url\(|src=/i);
  assert.doesNotMatch(html, /https?:\/\/(?!json-schema\.org)/);
});
