import assert from "node:assert/strict";
import { ConcurrencyLimit, LATE_INTERVAL_MS } from "./_limit.ts";
import { PROCESS_LIMIT_INITIAL, PROCESS_WAIT_TARGET_MS } from "./constants.ts";

const LATE = PROCESS_WAIT_TARGET_MS + 1;

Deno.test("limit: prompt starts that the limit held back raise it, one each", () => {
  const limit = new ConcurrencyLimit(64);
  assert.equal(limit.value, PROCESS_LIMIT_INITIAL);
  limit.sample(0.5, false, 0);
  assert.equal(limit.value, PROCESS_LIMIT_INITIAL, "an idle version keeps what it learned");
  limit.sample(0.5, true, 1);
  limit.sample(0.5, true, 2);
  assert.equal(limit.value, PROCESS_LIMIT_INITIAL + 2);
});

Deno.test("limit: one late start stops growth but does not cut; a prompt one lets it grow again", () => {
  const limit = new ConcurrencyLimit(64);
  limit.sample(0.5, false, 0);
  assert.ok(limit.grow());
  const before = limit.value;
  limit.sample(LATE * 5, false, 10);
  assert.equal(limit.value, before, "a moment the host did not schedule the process");
  assert.equal(limit.grow(), false);
  limit.sample(0.5, false, 20);
  assert.ok(limit.grow());
  // Late again, but the earlier lateness ended: the interval starts over.
  limit.sample(LATE, false, 30);
  limit.sample(LATE, false, 30 + LATE_INTERVAL_MS - 1);
  assert.equal(limit.value, before + 1);
});

Deno.test("limit: starts late for an interval cut it by 10% each, down to the least", () => {
  const limit = new ConcurrencyLimit(64);
  for (let t = 0; t < LATE_INTERVAL_MS; t += 10) limit.sample(LATE, true, t);
  assert.equal(limit.value, PROCESS_LIMIT_INITIAL);
  limit.sample(LATE, true, LATE_INTERVAL_MS);
  assert.equal(limit.value, Math.floor(PROCESS_LIMIT_INITIAL * 0.9));
  for (let i = 1; i <= 100; i++) limit.sample(LATE, true, LATE_INTERVAL_MS + i);
  assert.equal(limit.value, 2);
  assert.equal(limit.grow(), false);
});

Deno.test("limit: never grows past its most", () => {
  const limit = new ConcurrencyLimit(3);
  assert.equal(limit.value, 3);
  limit.sample(0.5, true, 0);
  assert.equal(limit.value, 3);
  assert.equal(limit.grow(), false);
});
