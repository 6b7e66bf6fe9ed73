import assert from "node:assert/strict";
import { Hono } from "hono";
import { adminAuth, isPublicPath, tokenCheck } from "./auth.ts";

Deno.test("auth: the token check takes Bearer <token>", async () => {
  const check = tokenCheck("s3cret-token");
  assert.equal(await check.verify("Bearer s3cret-token"), true);
  assert.equal(await check.verify("bearer s3cret-token"), true);
  for (
    const h of [
      undefined,
      null,
      "",
      "Bearer",
      "Bearer ",
      "Bearer s3cret-toke",
      "Bearer s3cret-token2",
      "Basic s3cret-token",
      "s3cret-token",
      "Bearer s3cret-token extra",
    ]
  ) {
    assert.equal(await check.verify(h), false, String(h));
  }
});

Deno.test("auth: public paths are exact or under a prefix", () => {
  assert.equal(isPublicPath("/healthz"), true);
  assert.equal(isPublicPath("/fn/hello"), true);
  assert.equal(isPublicPath("/fn/hello/a/b"), true);
  for (const p of ["/", "/healthz/", "/healthzx", "/fn", "/fnx/a", "/metrics", "/v1/status"]) {
    assert.equal(isPublicPath(p), false, p);
  }
});

Deno.test("auth: the middleware answers the contract's 401 before any route", async () => {
  const app = new Hono();
  app.use("*", adminAuth(tokenCheck("s3cret-token")));
  app.get("/v1/x", (c) => c.text("x"));
  app.get("/healthz", (c) => c.text("ok"));
  const missing = await app.request("/v1/x");
  assert.equal(missing.status, 401);
  assert.match(missing.headers.get("www-authenticate") ?? "", /^Bearer/);
  assert.deepEqual(await missing.json(), {
    error: { code: "UNAUTHORIZED", message: "Missing Authorization: Bearer <token>" },
  });
  const wrong = await app.request("/v1/x", { headers: { authorization: "Bearer nope-nope" } });
  assert.deepEqual((await wrong.json()).error.code, "UNAUTHORIZED");
  const ok = await app.request("/v1/x", { headers: { authorization: "Bearer s3cret-token" } });
  assert.equal(await ok.text(), "x");
  assert.equal((await app.request("/healthz")).status, 200);
  // An unknown path is no way around it.
  assert.equal((await app.request("/nothing")).status, 401);
});

Deno.test("auth: the dashboard takes the token as a Basic password and asks for it", async () => {
  const check = tokenCheck("s3cret-token");
  assert.equal(await check.verify(`Basic ${btoa("admin:s3cret-token")}`), true);
  assert.equal(await check.verify(`Basic ${btoa(":s3cret-token")}`), true);
  assert.equal(await check.verify(`Basic ${btoa("admin:guess")}`), false);
  assert.equal(await check.verify(`Basic ${btoa("s3cret-token")}`), false);
  assert.equal(await check.verify("Basic !!!"), false);
  const app = new Hono();
  app.use("*", adminAuth(check));
  app.get("/", (c) => c.text("dashboard"));
  const res = await app.request("/");
  assert.equal(res.status, 401);
  assert.match(res.headers.get("www-authenticate") ?? "", /^Basic /);
  const ok = await app.request("/", {
    headers: { authorization: `Basic ${btoa("a:s3cret-token")}` },
  });
  assert.equal(await ok.text(), "dashboard");
});
