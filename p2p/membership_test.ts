import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type LoadRecord, MembershipView } from "./membership.ts";
import type { MembershipEvent } from "./types.ts";
import { fakeLoad, testLogger } from "./_testing.ts";

const rec = (peerId: string, seq: number, over: Partial<LoadRecord> = {}): LoadRecord => ({
  v: 1,
  peerId,
  seq,
  at: 0,
  ...fakeLoad(),
  ...over,
});

Deno.test("view: join on first record, ages from receive time, leave on expiry", () => {
  let now = 1_000;
  const view = new MembershipView({ logger: testLogger, expiryMs: 2_500, now: () => now });
  const events: MembershipEvent[] = [];
  view.onMembership((ev) => events.push(ev));
  assert(view.accept(rec("a", 1, { inflight: 3, http: "http://a" })));
  assertEquals(events, [{ type: "join", peerId: "a" }]);
  now += 400;
  const [a] = view.list();
  assertEquals(a?.ageMs, 400);
  assertEquals(a?.inflight, 3);
  assertEquals(a?.http, "http://a");
  assertEquals(a?.self, false);
  now += 2_000;
  view.sweep();
  assert(view.has("a"), "2.4 s old record is still alive");
  now += 200;
  view.sweep();
  assert(!view.has("a"));
  assertEquals(events.at(-1), { type: "leave", peerId: "a" });
});

Deno.test("view: stale or repeated seq is ignored, so a relayed old record cannot revive a peer", () => {
  const view = new MembershipView({ logger: testLogger });
  assert(view.accept(rec("a", 5)));
  assert(!view.accept(rec("a", 5)));
  assert(!view.accept(rec("a", 4)));
  view.remove("a");
  assert(!view.accept(rec("a", 5)), "old record after leave");
  assert(view.accept(rec("a", 6)), "newer record rejoins");
});

Deno.test("view: remove emits leave once; listeners can unsubscribe; a throwing listener is contained", () => {
  const view = new MembershipView({ logger: testLogger });
  const events: string[] = [];
  view.onMembership(() => {
    throw new Error("boom");
  });
  const off = view.onMembership((ev) => events.push(ev.type));
  view.accept(rec("a", 1));
  view.remove("a");
  view.remove("a");
  off();
  view.accept(rec("a", 2));
  assertEquals(events, ["join", "leave"]);
});
