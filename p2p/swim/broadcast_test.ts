import { deepStrictEqual as assertEquals, equal } from "node:assert/strict";
import { createBroadcastQueue } from "./broadcast.ts";
import type { Update } from "./types.ts";

const u = (id: string, incarnation = 1, state: Update["state"] = "suspect"): Update => ({
  id,
  addrs: [],
  incarnation,
  state,
});

Deno.test("broadcast: each update is sent `limit` times, least-sent first, then dropped", () => {
  const q = createBroadcastQueue();
  q.push(u("a"));
  assertEquals(q.take(1000, 10, 3).map((x) => x.id), ["a"]);
  q.push(u("b"));
  // b has been sent fewer times than a: it goes first.
  assertEquals(q.take(1000, 1, 3).map((x) => x.id), ["b"]);
  assertEquals(q.take(1000, 10, 3).map((x) => x.id), ["a", "b"]);
  assertEquals(q.take(1000, 10, 3).map((x) => x.id), ["a", "b"]);
  equal(q.size, 0);
  assertEquals(q.take(1000, 10, 3), []);
});

Deno.test("broadcast: a newer update about a member replaces the queued one and starts afresh", () => {
  const q = createBroadcastQueue();
  q.push(u("a", 1));
  q.take(1000, 10, 2);
  q.push(u("a", 2, "alive"));
  equal(q.size, 1);
  assertEquals(q.take(1000, 10, 2), [u("a", 2, "alive")]);
  assertEquals(q.take(1000, 10, 2), [u("a", 2, "alive")]);
  equal(q.size, 0);
});

Deno.test("broadcast: bounded by bytes and by count per message", () => {
  const q = createBroadcastQueue();
  for (let i = 0; i < 100; i++) q.push(u(`member-${i}`.padEnd(52, "x")));
  const some = q.take(400, 64, 4);
  equal(some.length, 6); // 52-char id + 13 bytes each
  equal(q.take(100_000, 7, 4).length, 7);
  equal(q.size, 100);
});

Deno.test("broadcast: a smaller limit (the mesh shrank) drops what was sent enough", () => {
  const q = createBroadcastQueue();
  q.push(u("a"));
  for (let i = 0; i < 3; i++) q.take(1000, 10, 8);
  assertEquals(q.take(1000, 10, 2), []);
  equal(q.size, 0);
});
