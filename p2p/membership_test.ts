import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { LEFT_LINGER_MS, LOAD_SAMPLE_MAX_AGE_MS } from "./constants.ts";
import { MeshView, type SwimSource } from "./membership.ts";
import { encodeLoad } from "./meta.ts";
import type { Member, SwimEvent } from "./swim/mod.ts";
import type { MembershipEvent } from "./types.ts";
import { fakeLoad, testLogger } from "./_testing.ts";

/** The part of a SWIM core the view reads, driven by hand. */
function fakeSwim() {
  const members = new Map<string, Member>();
  const listeners = new Set<(ev: SwimEvent) => void>();
  const source: SwimSource = {
    get: (id) => members.get(id),
    onEvent(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
  };
  const set = (m: Member, type?: SwimEvent["type"]) => {
    members.set(m.id, m);
    if (type !== undefined) { for (const cb of listeners) cb({ type, member: m }); }
  };
  return { source, set };
}

const member = (id: string, over: Partial<Member> = {}): Member => ({
  id,
  addrs: [`/ip4/127.0.0.1/tcp/1/p2p/${id}`],
  incarnation: 1,
  state: "alive",
  ...over,
});

function setup() {
  let now = 100_000;
  const swim = fakeSwim();
  const view = new MeshView({ logger: testLogger, now: () => now });
  view.attach(swim.source);
  const events: MembershipEvent[] = [];
  view.onMembership((ev) => events.push(ev));
  return { swim, view, events, advance: (ms: number) => (now += ms), now: () => now };
}

Deno.test("view: a SWIM join adds a member with the load of its meta, aged from its receipt", () => {
  const { swim, view, events, advance, now } = setup();
  swim.set(member("a"), "join");
  assertEquals(events, [{ type: "join", peerId: "a" }]);
  const [unknown] = view.list();
  assertEquals(unknown?.ageMs, Infinity, "no load heard yet");
  assertEquals(unknown?.self, false);
  swim.set(
    member("a", { meta: encodeLoad(fakeLoad({ inflight: 3, http: "http://a" })), metaAt: now() }),
  );
  advance(400);
  const [a] = view.list();
  assertEquals(a?.ageMs, 400);
  assertEquals(a?.inflight, 3);
  assertEquals(a?.http, "http://a");
  assertEquals(a?.addrs, member("a").addrs);
  assert(view.has("a"));
});

Deno.test("view: a load on an invoke response wins while it is the newer one", () => {
  const { swim, view, advance, now } = setup();
  swim.set(member("a", { meta: encodeLoad(fakeLoad({ inflight: 1 })), metaAt: now() }), "join");
  advance(100);
  view.heard("a", fakeLoad({ inflight: 7 }));
  assertEquals(view.list()[0]?.inflight, 7);
  advance(100);
  swim.set(member("a", { meta: encodeLoad(fakeLoad({ inflight: 2 })), metaAt: now() }));
  assertEquals(view.list()[0]?.inflight, 2);
  view.heard("stranger", fakeLoad());
  assertEquals(view.list().length, 1, "a load from a non-member adds nobody");
});

Deno.test("view: a dead member leaves at once; a left one lingers as leaving until it disconnects", () => {
  const { swim, view, events } = setup();
  swim.set(member("a"), "join");
  swim.set(member("b"), "join");
  swim.set(member("a", { state: "dead" }), "leave");
  assert(!view.has("a"));
  assertEquals(events.at(-1), { type: "leave", peerId: "a" });
  swim.set(member("b", { state: "left", incarnation: 2 }), "leave");
  assert(view.has("b"), "still a member: its frames are served");
  assertEquals(view.list()[0]?.leaving, true);
  assertEquals(events.length, 3);
  view.disconnected("b");
  assert(!view.has("b"));
  assertEquals(events.at(-1), { type: "leave", peerId: "b" });
});

Deno.test("view: a direct leave notice marks leaving at once; lingering ends after LEFT_LINGER_MS", () => {
  const { swim, view, events, advance } = setup();
  swim.set(member("a"), "join");
  view.markLeaving("a");
  assertEquals(view.list()[0]?.leaving, true);
  advance(LEFT_LINGER_MS);
  view.sweep();
  assert(view.has("a"));
  advance(1);
  view.sweep();
  assert(!view.has("a"));
  assertEquals(events.map((e) => e.type), ["join", "leave"]);
});

Deno.test("view: a left member we have no connection with is gone at once", () => {
  const swim = fakeSwim();
  const view = new MeshView({ logger: testLogger, connected: (id) => id === "b" });
  view.attach(swim.source);
  swim.set(member("a"), "join");
  swim.set(member("b"), "join");
  swim.set(member("a", { state: "left", incarnation: 2 }), "leave");
  swim.set(member("b", { state: "left", incarnation: 2 }), "leave");
  assert(!view.has("a"));
  assert(view.has("b"));
});

Deno.test("view: a leaving member that comes back (a restart) is a plain member again", () => {
  const { swim, view, events } = setup();
  swim.set(member("a"), "join");
  swim.set(member("a", { state: "left", incarnation: 2 }), "leave");
  swim.set(member("a", { incarnation: 3 }), "join");
  assert(view.has("a"));
  assertEquals(view.list()[0]?.leaving, undefined);
  assertEquals(events.map((e) => e.type), ["join"]);
});

Deno.test("view: the sample is the freshest heard alive members, none suspect, leaving or stale", () => {
  const { swim, view, now, advance } = setup();
  const meta = encodeLoad(fakeLoad());
  for (let i = 0; i < 12; i++) {
    swim.set(member(`p${i}`, { meta, metaAt: now() - i * 1_000 }), "join");
  }
  swim.set(member("old", { meta, metaAt: now() - LOAD_SAMPLE_MAX_AGE_MS - 1 }), "join");
  swim.set(member("never"), "join");
  swim.set(member("p0", { meta, metaAt: now(), state: "suspect" }), "suspect");
  view.markLeaving("p1");
  const ids = view.sample(4).map((p) => p.peerId);
  assertEquals(ids, ["p2", "p3", "p4", "p5"]);
  assertEquals(view.sample(100).length, 10, "not old, not never heard");
  advance(LOAD_SAMPLE_MAX_AGE_MS);
  assertEquals(view.sample(100), [], "every load is too old now");
  assertEquals(view.list().find((p) => p.peerId === "p0")?.suspect, true);
});

Deno.test("view: listeners can unsubscribe; a throwing listener is contained", () => {
  const { swim, view } = setup();
  view.onMembership(() => {
    throw new Error("boom");
  });
  const seen: string[] = [];
  const off = view.onMembership((ev) => seen.push(ev.type));
  swim.set(member("a"), "join");
  swim.set(member("a", { state: "dead" }), "leave");
  off();
  swim.set(member("a", { incarnation: 2 }), "join");
  assertEquals(seen, ["join", "leave"]);
  assert(view.has("a"));
});
