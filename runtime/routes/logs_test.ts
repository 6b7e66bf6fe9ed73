import assert from "node:assert/strict";
import { startTestApp, TEST_PEER_ID } from "../_testing.ts";
import { type PeerLogLine, PeerLogLineSchema } from "../logs/mod.ts";

const TOKEN = "logs-test-token";
const auth = { authorization: `Bearer ${TOKEN}` };

const deployBody = (code: string) => ({
  method: "PUT",
  headers: { "content-type": "application/json", ...auth },
  body: JSON.stringify({ code }),
});

const CODE = `export default { fetch(req, env, ctx) {
  const p = new URL(req.url).pathname;
  if (p === "/boom") throw new Error("secret-boom-41");
  console.error("oops", p);
  console.log("fine");
  return new Response(ctx.requestId);
} }`;

const ndjson = async (res: Response): Promise<PeerLogLine[]> =>
  (await res.text()).split("\n").filter(Boolean).map((l) =>
    PeerLogLineSchema.strict().parse(JSON.parse(l)) as PeerLogLine
  );

Deno.test("logs route: lines with peer, request id and level; a caller's x-request-id kept", async () => {
  await using t = await startTestApp({ token: TOKEN });
  assert.equal((await t.app.request("/v1/functions/noisy", deployBody(CODE))).status, 201);
  const res = await t.app.request("/fn/noisy/a", { headers: { "x-request-id": "caller-id.1" } });
  assert.equal(await res.text(), "caller-id.1", "the function sees the caller's id");
  assert.equal(res.headers.get("x-request-id"), "caller-id.1");
  assert.equal(res.headers.get("x-virgo-request-id"), "caller-id.1");
  // Not plain: replaced by a fresh one, which the answer gives.
  const odd = await t.app.request("/fn/noisy/b", { headers: { "x-request-id": "a b<script>" } });
  const fresh = await odd.text();
  assert.notEqual(fresh, "a b<script>");
  assert.equal(odd.headers.get("x-request-id"), fresh);

  assert.equal((await t.app.request("/v1/logs/noisy")).status, 401, "behind the token");
  const got = await t.app.request("/v1/logs/noisy", { headers: auth });
  assert.equal(got.status, 200);
  assert.equal(got.headers.get("content-type"), "application/x-ndjson");
  const lines = await ndjson(got);
  const mine = lines.filter((l) => l.requestId === "caller-id.1");
  assert.deepEqual(mine.map((l) => [l.level, l.msg, l.peer, l.fn, l.source]), [
    ["error", "oops /a", TEST_PEER_ID, "noisy", "function"],
    ["info", "fine", TEST_PEER_ID, "noisy", "function"],
  ]);
  assert.ok(lines.some((l) => l.requestId === fresh && l.msg === "oops /b"));
  const deployed = lines[0]!;
  assert.equal(deployed.source, "runtime");
  assert.match(deployed.msg, /^Deployed version [0-9a-f]{16} \(\d+ bytes\)$/);
  assert.ok(lines.every((l, i) => i === 0 || lines[i - 1]!.time <= l.time), "in time order");
  assert.ok(!Number.isNaN(Date.parse(deployed.time)));

  // Filters: since a time to come, and the newest N.
  assert.deepEqual(
    await ndjson(
      await t.app.request("/v1/logs/noisy?since=2999-01-01T00:00:00Z", { headers: auth }),
    ),
    [],
  );
  const two = await ndjson(
    await t.app.request("/v1/logs/noisy?limit=2&since=1h", { headers: auth }),
  );
  assert.deepEqual(two, lines.slice(-2));
});

Deno.test("logs route: an exception's stack is logged, never given to the public caller", async () => {
  await using t = await startTestApp({ token: TOKEN });
  await t.app.request("/v1/functions/noisy", deployBody(CODE));
  const res = await t.app.request("/fn/noisy/boom");
  assert.equal(res.status, 500);
  const body = await res.text();
  assert.ok(!body.includes("secret-boom-41") && !body.includes(" at "), body);
  const id = res.headers.get("x-request-id")!;
  assert.ok(body.includes(id), "the caller is told which request to look up");
  const lines = await ndjson(await t.app.request("/v1/logs/noisy", { headers: auth }));
  const line = lines.find((l) => l.requestId === id)!;
  assert.equal(line.level, "error");
  assert.match(
    line.msg,
    /^Uncaught exception: Error: secret-boom-41\n\s+at Object.fetch \(noisy.js:3:28\)/,
  );
});

Deno.test("logs route: deploy failures, rollbacks and deletes are logged with the reason", async () => {
  await using t = await startTestApp({ token: TOKEN });
  await t.app.request("/v1/functions/ev", deployBody(CODE));
  await t.app.request("/v1/functions/ev", deployBody(CODE.replace("fine", "fine2")));
  assert.equal(
    (await t.app.request("/v1/functions/ev", deployBody("export default {"))).status,
    400,
  );
  const rb = await t.app.request("/v1/functions/ev/rollback", { method: "POST", headers: auth });
  assert.equal(rb.status, 200);
  assert.equal(
    (await t.app.request("/v1/functions/ev", { method: "DELETE", headers: auth })).status,
    200,
  );
  const lines = await ndjson(await t.app.request("/v1/logs/ev", { headers: auth }));
  const msgs = lines.map((l) => `${l.level} ${l.msg}`);
  assert.equal(msgs.length, 5, msgs.join("\n"));
  assert.match(msgs[0]!, /^info Deployed version /);
  assert.match(msgs[1]!, /^info Deployed version /);
  assert.match(msgs[2]!, /^error Deploy failed: INVALID_BUNDLE: /);
  assert.match(msgs[3]!, /^info Rolled back to version [0-9a-f]{16} from [0-9a-f]{16}$/);
  assert.equal(msgs[4], "info Deleted");
});

Deno.test("logs route: follow=1 streams lines as SSE as they come", async () => {
  await using t = await startTestApp({ token: TOKEN });
  await t.app.request("/v1/functions/noisy", deployBody(CODE));
  const stop = new AbortController();
  const res = await t.app.request("/v1/logs/noisy?follow=1", {
    headers: auth,
    signal: stop.signal,
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const next = async (pred: (l: PeerLogLine) => boolean): Promise<PeerLogLine> => {
    for (;;) {
      const events = buf.split("\n\n");
      buf = events.pop()!;
      for (const e of events) {
        const data = e.split("\n").find((x) => x.startsWith("data: "));
        if (!e.includes("event: log") || !data) continue;
        const line = JSON.parse(data.slice(6)) as PeerLogLine;
        if (pred(line)) return line;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended");
      buf += value;
    }
  };
  assert.match((await next(() => true)).msg, /^Deployed version/);
  // A call made after the follow began arrives on it.
  await (await t.app.request("/fn/noisy/late", { headers: { "x-request-id": "late-1" } })).text();
  const late = await next((l) => l.requestId === "late-1");
  assert.deepEqual([late.level, late.msg, late.peer], ["error", "oops /late", TEST_PEER_ID]);
  stop.abort();
  await reader.cancel().catch(() => {});
});

Deno.test("logs route: bad input is 400, an unknown function 404", async () => {
  await using t = await startTestApp({ token: TOKEN });
  const get = (q: string) => t.app.request(`/v1/logs/${q}`, { headers: auth });
  assert.equal((await get("nope")).status, 404);
  assert.equal((await get("nope?follow=1")).status, 404);
  await t.app.request("/v1/functions/noisy", deployBody(CODE));
  assert.equal((await get("noisy?since=yesterday")).status, 400);
  assert.equal((await get("noisy?limit=0")).status, 400);
  assert.equal((await get("noisy?colour=red")).status, 400);
  assert.equal((await get("Bad%20Name")).status, 400);
});
