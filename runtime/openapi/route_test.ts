import assert from "node:assert/strict";
import { Hono } from "hono";
import { z } from "zod";
import { errorResponse } from "../errors.ts";
import { openapiDocument, openapiPath, route, undeclaredRoutes } from "./mod.ts";

/** An app with one declared route of each input kind, answering what it parsed. */
function testApp(): Hono {
  const app = new Hono();
  app.onError((err) => errorResponse(err));
  route(app, "put", "/items/:id", {
    summary: "Put an item",
    tag: "items",
    params: z.object({ id: z.string().regex(/^\d+$/, { message: "digits" }).describe("item id") }),
    query: z.object({ n: z.coerce.number().int().min(1).optional() }),
    headers: z.object({ "if-match": z.string().max(8).optional() }),
    body: {
      json: z.object({ a: z.string() }).strict(),
      limit: 64,
      what: "item",
      empty: { a: "-" },
    },
    responses: { 200: { description: "Echo", json: z.object({ id: z.string() }) } },
    errors: [404],
  }, (c, input) => c.json(input));
  route(app, "put", "/raw/:key{.+}", {
    summary: "Put bytes",
    tag: "items",
    body: { bytes: "application/octet-stream", limit: 4, tooLarge: "VALUE_TOO_LARGE" },
    responses: { 200: { description: "Size", json: z.object({ size: z.number() }) } },
  }, (c, { body }) => c.json({ size: body.byteLength }));
  return app;
}

const put = (body?: string, headers: Record<string, string> = {}) => ({
  method: "PUT",
  body: body ?? null,
  headers,
});

Deno.test("route: the handler gets what the schemas parsed, whatever the content-type", async () => {
  const app = testApp();
  const res = await app.request("/items/7?n=3", put('{"a":"x"}', { "if-match": '"v1"' }));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    params: { id: "7" },
    query: { n: 3 },
    headers: { "if-match": '"v1"' },
    body: { a: "x" },
  });
  // An empty body is the declared default; text/plain is read as JSON all the same.
  const empty = await app.request("/items/7", put(undefined, { "content-type": "text/plain" }));
  assert.deepEqual((await empty.json()).body, { a: "-" });
  const raw = await app.request("/raw/a/b", put("abcd"));
  assert.deepEqual(await raw.json(), { size: 4 });
});

Deno.test("route: a failure is the contract's error JSON naming the field", async () => {
  const app = testApp();
  const cases: Array<[string, RequestInit, number, string, RegExp]> = [
    ["/items/x", put('{"a":"x"}'), 400, "BAD_REQUEST", /^Invalid item id: x \(digits\)$/],
    ["/items/1?n=0", put('{"a":"x"}'), 400, "BAD_REQUEST", /^Invalid query at n: /],
    ["/items/1", put('{"a":"x"}', { "if-match": "123456789" }), 400, "BAD_REQUEST", /at if-match/],
    ["/items/1", put("{nope"), 400, "BAD_REQUEST", /^Invalid item: body is not JSON/],
    ["/items/1", put('{"a":1}'), 400, "BAD_REQUEST", /^Invalid item at a: /],
    ["/items/1", put('{"a":"x","b":1}'), 400, "BAD_REQUEST", /^Invalid item: /],
    ["/items/1", put(`{"a":"${"x".repeat(80)}"}`), 413, "PAYLOAD_TOO_LARGE", /64 bytes/],
    ["/raw/k", put("abcde"), 413, "VALUE_TOO_LARGE", /4 bytes/],
  ];
  for (const [path, init, status, code, message] of cases) {
    const res = await app.request(path, init);
    const body = await res.json();
    assert.equal(res.status, status, `${path}: ${JSON.stringify(body)}`);
    assert.equal(body.error.code, code, path);
    assert.match(body.error.message, message, path);
  }
});

Deno.test("openapiPath: hono patterns become OpenAPI paths", () => {
  assert.equal(
    openapiPath("/v1/functions/:name/secrets/:key"),
    "/v1/functions/{name}/secrets/{key}",
  );
  assert.equal(openapiPath("/v1/kv/:key{.+}"), "/v1/kv/{key}");
  assert.equal(openapiPath("/a/:n{[0-9]{1,3}}/b"), "/a/{n}/b");
  assert.equal(openapiPath("/fn/:name/*"), "/fn/{name}/{path}");
});

Deno.test("openapiDocument: operations from the declarations, undeclared routes listed", () => {
  const app = testApp();
  app.get("/plain", (c) => c.text("not declared"));
  const doc = openapiDocument(app, { version: "1.2.3", publicPaths: ["/raw/*"] });
  assert.equal(doc.openapi, "3.1.0");
  const paths = doc.paths as Record<string, Record<string, Record<string, unknown>>>;
  assert.deepEqual(Object.keys(paths), ["/items/{id}", "/raw/{key}"]);
  const op = paths["/items/{id}"]!.put!;
  assert.deepEqual(
    (op.parameters as Array<Record<string, unknown>>).map((p) => [p.name, p.in, p.required]),
    [["id", "path", true], ["n", "query", false], ["if-match", "header", false]],
  );
  const body = op.requestBody as { required: boolean; content: Record<string, { schema: object }> };
  assert.equal(body.required, false);
  assert.deepEqual(body.content["application/json"]!.schema, {
    type: "object",
    properties: { a: { type: "string" } },
    required: ["a"],
    additionalProperties: false,
  });
  // Guarded: 400 for its inputs, 401, and the declared 404, all the contract's error.
  assert.deepEqual(Object.keys(op.responses as object), ["200", "400", "401", "404", "default"]);
  assert.equal(op.security, undefined);
  // Public: no 401, and no security asked.
  const raw = paths["/raw/{key}"]!.put!;
  assert.deepEqual(raw.security, []);
  assert.ok(!("401" in (raw.responses as object)));
  assert.deepEqual(undeclaredRoutes(app), ["GET /plain"]);
});
