import assert from "node:assert/strict";
import {
  checkAcknowledgedWrites,
  checkCounters,
  History,
  type Outcome,
  outcomeOf,
  outcomeOfError,
  summarize,
} from "./_history.ts";

/** A history on a clock that ticks once per reading. */
function ticking() {
  let t = 0;
  return new History(() => t++);
}
const ok = (value?: string): Outcome =>
  value === undefined ? { type: "ok" } : { type: "ok", value };
const notFound: Outcome = { type: "fail", status: 404, code: "NOT_FOUND" };
const timeout: Outcome = { type: "unknown", code: "TIMEOUT" };

Deno.test("a history records invocation, return and outcome in order", () => {
  const h = ticking();
  const first = h.begin("c1", "write", "k", { value: "a" });
  const second = h.begin("c2", "read", "k");
  second({ type: "ok", value: "a", version: "7" });
  const op = first({ type: "ok", version: "7" });
  assert.deepEqual([op.id, op.invoke, op.ret], [0, 0, 3]);
  assert.deepEqual(h.ops.map((o) => [o.process, o.kind, o.ret]), [["c1", "write", 3], [
    "c2",
    "read",
    2,
  ]]);
  const pending = h.begin("c3", "cas", "k", { value: "b", ifMatch: "7" });
  void pending;
  assert.equal(h.ops[2]!.ret, Infinity);
  assert.deepEqual(h.ops[2]!.outcome, { type: "unknown", code: "PENDING" });
});

Deno.test("responses and errors become outcomes: 4xx definite; 5xx, timeouts and connection errors unknown", () => {
  const res = (status: number, headers: HeadersInit = {}) =>
    new Response(null, { status, headers });
  assert.deepEqual(outcomeOf(res(200, { "x-virgo-version": "9" }), "v"), {
    type: "ok",
    value: "v",
    version: "9",
  });
  const body = (code: string) => JSON.stringify({ error: { code, message: "m" } });
  assert.deepEqual(outcomeOf(res(412), body("PRECONDITION_FAILED")), {
    type: "fail",
    status: 412,
    code: "PRECONDITION_FAILED",
  });
  assert.deepEqual(outcomeOf(res(503), body("QUORUM_FAILED")), {
    type: "unknown",
    status: 503,
    code: "QUORUM_FAILED",
  });
  assert.deepEqual(outcomeOf(res(502), "<html>"), {
    type: "unknown",
    status: 502,
    code: "HTTP_502",
  });
  assert.deepEqual(outcomeOfError(new DOMException("t", "TimeoutError")), timeout);
  assert.deepEqual(
    outcomeOfError(
      new TypeError("fetch failed", {
        cause: new Error("tcp connect error: Connection refused (os error 111)"),
      }),
    ),
    { type: "unknown", code: "CONNECTION_REFUSED" },
  );
  assert.deepEqual(outcomeOfError(new TypeError("connection reset")), {
    type: "unknown",
    code: "CONNECTION_ERROR",
  });
});

Deno.test("summaries count acknowledged, failed and unknown operations by cause", () => {
  const h = ticking();
  h.begin("c", "write", "a", { value: "1" })(ok());
  h.begin("c", "read", "b")(notFound);
  h.begin("c", "cas", "a", { value: "2", ifMatch: "x" })({
    type: "fail",
    status: 412,
    code: "PRECONDITION_FAILED",
  });
  h.begin("c", "write", "a", { value: "3" })({
    type: "unknown",
    status: 503,
    code: "QUORUM_FAILED",
  });
  h.begin("c", "invoke", "hello")(timeout);
  const s = summarize(h.ops);
  assert.equal(s.attempted, 5);
  assert.equal(s.acknowledged, 1);
  assert.deepEqual(s.failed, { "404 NOT_FOUND": 1, "412 PRECONDITION_FAILED": 1 });
  assert.deepEqual(s.unknown, { "503 QUORUM_FAILED": 1, TIMEOUT: 1 });
  assert.deepEqual(s.byKind.write, { attempted: 2, acknowledged: 1, failed: 0, unknown: 1 });
});

Deno.test("an acknowledged write the final read misses is lost", () => {
  const h = ticking();
  h.begin("c", "write", "set/1", { value: "one" })(ok());
  h.begin("c", "write", "set/2", { value: "two" })(ok());
  h.begin("c", "write", "set/3", { value: "three" })(timeout);
  h.begin("c", "write", "set/4", { value: "four" })(ok());
  h.begin("c", "write", "hot", { value: "x" })(ok());
  h.begin("final", "read", "set/1")(ok("one"));
  h.begin("final", "read", "set/2")(notFound);
  h.begin("final", "read", "set/3")(notFound);
  h.begin("final", "read", "set/4")({ type: "unknown", status: 503, code: "QUORUM_FAILED" });
  h.begin("final", "read", "hot")(notFound);
  const r = checkAcknowledgedWrites(h.ops, (k) => k.startsWith("set/"));
  assert.equal(r.acknowledged, 3);
  assert.deepEqual(r.lost, [{ key: "set/2", value: "two", got: "404" }]);
  assert.deepEqual(r.unreadable, ["set/4"]);
  const all = checkAcknowledgedWrites(
    h.ops.filter((o) => o.key !== "set/2"),
    (k) => k.startsWith("set/"),
  );
  assert.deepEqual(all.lost, []);
});

Deno.test("a counter counts every acknowledged increment and at most the unknown ones", () => {
  const run = (final: Outcome) => {
    const h = ticking();
    h.begin("c", "read", "ctr")(notFound);
    h.begin("c", "cas", "ctr", { value: "1:c:1", ifMatch: "0" })(ok());
    h.begin("c", "cas", "ctr", { value: "2:c:2", ifMatch: "v1" })(ok());
    h.begin("c", "cas", "ctr", { value: "3:c:3", ifMatch: "v2" })(timeout);
    h.begin("c", "cas", "ctr", { value: "3:c:4", ifMatch: "v2" })({
      type: "fail",
      status: 412,
      code: "PRECONDITION_FAILED",
    });
    h.begin("final", "read", "ctr")(final);
    return checkCounters(h.ops, (k) => k === "ctr", (v) => parseInt(v, 10))[0]!;
  };
  assert.deepEqual(run(ok("2:c:2")), {
    key: "ctr",
    acknowledged: 2,
    unknown: 1,
    final: 2,
    ok: true,
  });
  assert.equal(run(ok("3:c:3")).ok, true);
  assert.equal(run(ok("1:c:1")).ok, false, "an acknowledged increment lost");
  assert.equal(run(ok("4:x:9")).ok, false, "more increments than were made");
  assert.equal(run(notFound).ok, false);
  assert.equal(run(timeout).final, null);
});
