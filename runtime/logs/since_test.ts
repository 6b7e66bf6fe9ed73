import assert from "node:assert/strict";
import { parseSince } from "./since.ts";
import { acceptRequestId, requestIds } from "./request_id.ts";

Deno.test("since: durations back from now and ISO times; anything else is BAD_REQUEST", () => {
  const now = 10_000_000;
  assert.equal(parseSince("10m", now), now - 600_000);
  assert.equal(parseSince("1h30m", now), now - 5_400_000);
  assert.equal(parseSince("90s", now), now - 90_000);
  assert.equal(parseSince("250ms", now), now - 250);
  assert.equal(parseSince("2026-11-28T10:00:00Z"), Date.UTC(2026, 10, 28, 10));
  assert.equal(parseSince("2026-11-28T10:00:00.500+01:00"), Date.UTC(2026, 10, 28, 9, 0, 0, 500));
  for (const bad of ["", "10", "tomorrow", "10 m", "-5m", "2026-13-45T99:99:99Z"]) {
    assert.throws(() => parseSince(bad, now), { code: "BAD_REQUEST" }, bad);
  }
});

Deno.test("request ids: a caller's plain id of up to 128 characters is kept, any other replaced", () => {
  assert.equal(acceptRequestId("abc-1.2:3_X"), "abc-1.2:3_X");
  assert.equal(acceptRequestId("a".repeat(128)), "a".repeat(128));
  for (const bad of [null, "", "a".repeat(129), "a b", "a/b", "é", "a\tb"]) {
    assert.equal(acceptRequestId(bad), undefined, String(bad));
  }
});

Deno.test("request ids: distinct within a run and across runs (a new boot part each start)", () => {
  const peer = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
  const a = requestIds(peer);
  const b = requestIds(peer); // the same peer, restarted
  const ids = new Set<string>();
  for (let i = 0; i < 1000; i++) ids.add(a()).add(b());
  assert.equal(ids.size, 2000);
  const id = a();
  assert.match(id, /^AJU5SA-[0-9a-z]{8}-[0-9a-z]+$/);
  assert.equal(acceptRequestId(id), id, "our own ids pass as a caller's");
});
