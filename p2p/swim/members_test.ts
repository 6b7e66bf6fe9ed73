import { deepStrictEqual as assertEquals, equal } from "node:assert/strict";
import { decide, mustRefute } from "./members.ts";
import type { MemberState, Update } from "./types.ts";

const u = (state: MemberState, incarnation: number, addrs: string[] = []): Update => ({
  id: "b",
  addrs,
  incarnation,
  state,
});
const b = (state: MemberState, incarnation: number) => ({ state, incarnation });

Deno.test("members: an unknown member is taken only alive or suspect, with addresses", () => {
  assertEquals(decide(undefined, u("alive", 0, ["/a"])), b("alive", 0));
  assertEquals(decide(undefined, u("suspect", 2, ["/a"])), b("suspect", 2));
  equal(decide(undefined, u("alive", 0)), undefined);
  equal(decide(undefined, u("dead", 5, ["/a"])), undefined);
  equal(decide(undefined, u("left", 5, ["/a"])), undefined);
});

Deno.test("members: alive wins only with a higher incarnation, also over dead and left", () => {
  equal(decide(b("alive", 3), u("alive", 3)), undefined);
  equal(decide(b("suspect", 3), u("alive", 3)), undefined);
  assertEquals(decide(b("suspect", 3), u("alive", 4)), b("alive", 4));
  equal(decide(b("dead", 3), u("alive", 3)), undefined);
  assertEquals(decide(b("dead", 3), u("alive", 4)), b("alive", 4));
  assertEquals(decide(b("left", 3), u("alive", 9)), b("alive", 9));
});

Deno.test("members: suspect wins over alive at the same incarnation, never over dead", () => {
  assertEquals(decide(b("alive", 3), u("suspect", 3)), b("suspect", 3));
  equal(decide(b("alive", 3), u("suspect", 2)), undefined);
  equal(decide(b("suspect", 3), u("suspect", 3)), undefined);
  assertEquals(decide(b("suspect", 3), u("suspect", 4)), b("suspect", 4));
  equal(decide(b("dead", 3), u("suspect", 4)), undefined);
});

Deno.test("members: dead and left win over members at the same incarnation; left explains dead", () => {
  assertEquals(decide(b("alive", 3), u("dead", 3)), b("dead", 3));
  assertEquals(decide(b("suspect", 3), u("left", 4)), b("left", 4));
  equal(decide(b("alive", 3), u("dead", 2)), undefined);
  assertEquals(decide(b("dead", 3), u("left", 3)), b("left", 3));
  equal(decide(b("left", 3), u("dead", 3)), undefined);
  assertEquals(decide(b("left", 3), u("dead", 4)), b("left", 4));
});

Deno.test("members: we refute suspicion and death at or above our incarnation, unless leaving", () => {
  equal(mustRefute(3, u("suspect", 3), false), true);
  equal(mustRefute(3, u("dead", 4), false), true);
  equal(mustRefute(3, u("suspect", 2), false), false);
  equal(mustRefute(3, u("dead", 3), true), false);
  equal(mustRefute(3, u("left", 3), false), true);
  equal(mustRefute(3, u("alive", 3), false), false);
  equal(mustRefute(3, u("alive", 4), false), true);
});
