import assert from "node:assert/strict";
import { createStampClock, isStamp } from "./stamp.ts";

Deno.test("stamp: monotonic, comparable as strings, tie broken by peer id", () => {
  let now = 1000;
  const a = createStampClock("peerA", () => now);
  const s1 = a.now();
  const s2 = a.now(); // same wall time: the counter moves
  now = 500; // the wall clock going back does not move stamps back
  const s3 = a.now();
  assert.ok(s1 < s2 && s2 < s3);
  assert.ok(isStamp(s1));
  const b = createStampClock("peerB", () => 0);
  b.observe(s3);
  assert.ok(b.now() > s3, "observing a later stamp moves the clock past it");
  // Equal time and counter: the peer id decides, the same way everywhere.
  const x = createStampClock("peerA", () => 7).now();
  const y = createStampClock("peerB", () => 7).now();
  assert.ok(x < y);
  assert.ok(!isStamp("garbage"));
});
