/**
 * The dashboard through `app.request()` on the app over light parts: sign-in with the token
 * sets a session cookie (HttpOnly, SameSite=Strict, never the token) that opens the page and
 * its data but not `/v1`; the snapshot over SSE; the rollback action.
 */
import assert from "node:assert/strict";
import { startTestApp } from "../_testing.ts";
import { createSessions, SESSION_COOKIE, sessionCookie } from "./mod.ts";

const T = "dash-test-token";

/** Signs in with `token`; returns the response and the cookie pair to send back. */
async function signIn(
  app: { request: (p: string, i?: RequestInit) => Response | Promise<Response> },
  token: string,
) {
  const res = await app.request("/signin", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }).toString(),
  });
  const set = res.headers.get("set-cookie") ?? "";
  return { res, set, cookie: set.split(";")[0]! };
}

Deno.test("dashboard: sign in once, then the cookie opens the page and its data only", async () => {
  await using t = await startTestApp({ token: T });
  const { app } = t;
  // A browser is sent to sign in; a script gets the JSON 401.
  const page = await app.request("/", { headers: { accept: "text/html" } });
  assert.equal(page.status, 303);
  assert.equal(page.headers.get("location"), "/signin");
  assert.equal((await app.request("/")).status, 401);
  const form = await app.request("/signin");
  assert.equal(form.status, 200);
  assert.match(await form.text(), /<input id="token" name="token" type="password"/);

  const wrong = await signIn(app, "guess");
  assert.equal(wrong.res.status, 401);
  assert.equal(wrong.set, "");

  const { res, set, cookie } = await signIn(app, T);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), "/");
  assert.match(
    set,
    new RegExp(
      `^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict; Max-Age=\\d+$`,
    ),
  );
  assert.ok(!set.includes(T), "the token never goes into the cookie");

  const opened = await app.request("/", { headers: { cookie } });
  assert.equal(opened.status, 200);
  const html = await opened.text();
  assert.ok(html.includes(t.peerId), "the page names its peer");
  assert.ok(!/<script[^>]+src=|<link[^>]+href=["']?https?:/i.test(html), "nothing from elsewhere");
  const state = await app.request("/dashboard/state", { headers: { cookie } });
  assert.equal(state.status, 200);
  const body = await state.json();
  assert.equal(body.self, t.peerId);
  assert.deepEqual(body.peers.map((p: { peerId: string }) => p.peerId), [t.peerId]);
  // Not a way into the API: that keeps to Bearer.
  for (const path of ["/v1/status", "/v1/functions", "/metrics"]) {
    assert.equal((await app.request(path, { headers: { cookie } })).status, 401, path);
  }
  // A forged or ended session opens nothing.
  const forged = `${SESSION_COOKIE}=${"A".repeat(43)}`;
  assert.equal(
    (await app.request("/dashboard/state", { headers: { cookie: forged } })).status,
    401,
  );
  const out = await app.request("/signout", { method: "POST", headers: { cookie } });
  assert.equal(out.status, 303);
  assert.match(out.headers.get("set-cookie") ?? "", /Max-Age=0/);
  assert.equal((await app.request("/dashboard/state", { headers: { cookie } })).status, 401);
  // Over https (here: a TLS front that says so) the cookie is Secure.
  const secure = await app.request("/signin", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-proto": "https" },
    body: `token=${T}`,
  });
  assert.match(secure.headers.get("set-cookie") ?? "", /; Secure$/);
});

Deno.test("dashboard: calls show in the snapshot and over SSE; rollback through the page's action", async () => {
  await using t = await startTestApp({ token: T });
  const { app } = t;
  const auth = { authorization: `Bearer ${T}` };
  const deploy = async (tag: string) => {
    const res = await app.request("/v1/functions/dash", {
      method: "PUT",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify({ code: `export default { fetch: () => new Response("${tag}") }` }),
    });
    assert.equal(res.status, 201);
    return (await res.json()).version as string;
  };
  const v1 = await deploy("one");
  const v2 = await deploy("two");
  assert.equal(await (await app.request("/fn/dash")).text(), "two");
  const { cookie } = await signIn(app, T);

  const events = await app.request("/dashboard/events", { headers: { cookie } });
  assert.equal(events.status, 200);
  assert.match(events.headers.get("content-type") ?? "", /^text\/event-stream/);
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n\n")) text += (await reader.read()).value ?? "";
  await reader.cancel();
  assert.match(text, /^event: state\n/);
  const state = JSON.parse(/^data: (.*)$/m.exec(text)![1]!);
  const fn = state.functions.find((f: { name: string }) => f.name === "dash");
  assert.equal(fn.version, v2);
  assert.equal(fn.calls, 1);
  assert.equal(fn.errorRate, 0);
  assert.deepEqual(
    state.calls.map((c: { fn: string; peer: string; where: string }) => [c.fn, c.peer, c.where]),
    [["dash", t.peerId, "local"]],
  );

  // The page's action needs its header (a cross-site form cannot send it), then rolls back.
  const bare = await app.request("/dashboard/functions/dash/rollback", {
    method: "POST",
    headers: { cookie },
  });
  assert.equal(bare.status, 403);
  const back = await app.request("/dashboard/functions/dash/rollback", {
    method: "POST",
    headers: { cookie, "x-virgo-dashboard": "1" },
  });
  const body = await back.json();
  assert.equal(back.status, 200, JSON.stringify(body));
  assert.deepEqual([body.from, body.version], [v2, v1]);
  assert.equal(await (await app.request("/fn/dash")).text(), "one");
});

Deno.test("dashboard: sessions expire, are bounded, and read only their own cookie", () => {
  let now = 0;
  const sessions = createSessions({ ttlMs: 1000, max: 2, clock: () => now });
  const a = sessions.create();
  assert.ok(sessions.valid(`other=1; ${SESSION_COOKIE}=${a}`));
  assert.ok(!sessions.valid(`x${SESSION_COOKIE}=${a}`));
  const b = sessions.create();
  const c = sessions.create();
  assert.equal(sessions.size(), 2);
  assert.ok(!sessions.valid(`${SESSION_COOKIE}=${a}`), "the oldest made room");
  assert.ok(sessions.valid(`${SESSION_COOKIE}=${b}`) && sessions.valid(`${SESSION_COOKIE}=${c}`));
  now = 1000;
  assert.ok(!sessions.valid(`${SESSION_COOKIE}=${c}`), "expired");
  assert.equal(
    sessionCookie("", { secure: false }),
    `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`,
  );
});
