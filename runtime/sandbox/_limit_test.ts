import assert from "node:assert/strict";
import { ConcurrencyLimit } from "./_limit.ts";
import { PROCESS_LIMIT_INITIAL, PROCESS_WAIT_TARGET_MS } from "./constants.ts";

const LATE = PROCESS_WAIT_TARGET_MS + 1;

Deno.test("limit: prompt starts that the limit held back raise it, one each", () => {
  const limit = new ConcurrencyLimit(64);
  assert.equal(limit.value, PROCESS_LIMIT_INITIAL);
  limit.sample(0.5, false);
  assert.equal(limit.value, PROCESS_LIMIT_INITIAL, "an idle version keeps what it learned");
  limit.sample(0.5, true);
  limit.sample(0.5, true);
  assert.equal(limit.value, PROCESS_LIMIT_INITIAL + 2);
});

Deno.test("limit: after a prompt start, calls that would wait raise it by up to half", () => {
  const limit = new ConcurrencyLimit(64);
  assert.equal(limit.grow(), false, "nothing measured yet");
  limit.sample(0.5, false);
  let raised = 0;
  while (limit.grow()) raised++;
  assert.equal(raised, PROCESS_LIMIT_INITIAL / 2);
  assert.equal(limit.value, PROCESS_LIMIT_INITIAL * 1.5);
});

Deno.test("limit: every late start cuts it by 10% and stops growth, down to the least", () => {
  const limit = new ConcurrencyLimit(64);
  limit.sample(0.5, false);
  limit.sample(LATE, true);
  assert.equal(limit.value, Math.floor(PROCESS_LIMIT_INITIAL * 0.9));
  assert.equal(limit.grow(), false);
  for (let i = 0; i < 100; i++) limit.sample(LATE, true);
  assert.equal(limit.value, 2);
  limit.sample(0.5, true);
  assert.equal(limit.value, 3, "a prompt start raises it again");
});

Deno.test("limit: never grows past its most", () => {
  const limit = new ConcurrencyLimit(3);
  assert.equal(limit.value, 3);
  limit.sample(0.5, true);
  assert.equal(limit.value, 3);
  assert.equal(limit.grow(), false);
});
