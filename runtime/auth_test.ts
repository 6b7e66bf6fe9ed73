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

Deno.test("auth: a session stands for the token on the dashboard's paths only; Basic is gone", async () => {
  const check = tokenCheck("s3cret-token");
  assert.equal(await check.verify(`Basic ${btoa("admin:s3cret-token")}`), false);
  const sessions = { valid: (cookie: string | undefined) => cookie === "s=ok" };
  const app = new Hono();
  app.use("*", adminAuth(check, { sessions }));
  for (const path of ["/", "/dashboard/state", "/v1/status"]) app.get(path, (c) => c.text(path));
  const get = (path: string, headers: Record<string, string> = {}) =>
    app.request(path, { headers });
  assert.equal(await (await get("/", { cookie: "s=ok" })).text(), "/");
  assert.equal(
    await (await get("/dashboard/state", { cookie: "s=ok" })).text(),
    "/dashboard/state",
  );
  assert.equal((await get("/v1/status", { cookie: "s=ok" })).status, 401);
  assert.equal((await get("/dashboard/state", { cookie: "s=no" })).status, 401);
  // A browser without a session is sent to sign in; nothing else is.
  const page = await get("/", { accept: "text/html,*/*" });
  assert.equal(page.status, 303);
  assert.equal(page.headers.get("location"), "/signin");
  const json = await get("/");
  assert.equal(json.status, 401);
  assert.match(json.headers.get("www-authenticate") ?? "", /^Bearer /);
  assert.equal((await get("/dashboard/state", { accept: "text/html" })).status, 401);
});
