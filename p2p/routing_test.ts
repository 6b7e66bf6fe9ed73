import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createRouter } from "./routing.ts";
import type { PeerInfo } from "./types.ts";
import { fakeLoad } from "./_testing.ts";

function peer(id: string, over: Partial<PeerInfo> = {}): PeerInfo {
  return { ...fakeLoad(), peerId: id, self: false, incarnation: 1, ageMs: 0, addrs: [], ...over };
}

/** Deterministic PRNG (mulberry32) so distribution tests never flake. */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A fake mesh: every member, and the load sample (all of them unless given). */
const view = (peers: PeerInfo[], sample: PeerInfo[] = peers) => ({
  peers: () => peers,
  sample: () => sample,
});

Deno.test("local picks self only, honouring exclude", () => {
  const peers = [peer("me", { self: true }), peer("b")];
  const r = createRouter(view(peers));
  assertEquals(r.pick("local")?.peerId, "me");
  assertEquals(r.pick("local", new Set(["me"])), undefined);
});

Deno.test("no candidates gives undefined for every strategy", () => {
  const r = createRouter(view([peer("me", { self: true }), peer("b")]));
  for (const s of ["random", "least-loaded", "p2c", "local"] as const) {
    assertEquals(r.pick(s, new Set(["me", "b"])), undefined);
  }
  assertEquals(createRouter(view([])).pick("p2c"), undefined);
});

Deno.test("a single candidate is always picked", () => {
  const r = createRouter(view([peer("me", { self: true }), peer("b"), peer("c")]));
  for (const s of ["random", "least-loaded", "p2c"] as const) {
    assertEquals(r.pick(s, new Set(["me", "b"]))?.peerId, "c");
  }
});

Deno.test("exclude removes peers from candidates", () => {
  const r = createRouter(view([peer("me", { self: true }), peer("b"), peer("c")]), {
    random: rng(1),
  });
  for (let i = 0; i < 200; i++) {
    const got = r.pick("random", new Set(["me", "b"]));
    assertEquals(got?.peerId, "c");
  }
});

Deno.test("random is uniform over candidates (chi-square)", () => {
  const ids = ["me", "b", "c", "d", "e"];
  const r = createRouter(view(ids.map((id, i) => peer(id, { self: i === 0, inflight: i * 10 }))), {
    random: rng(42),
  });
  const n = 50_000;
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const id = r.pick("random")!.peerId;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const expected = n / ids.length;
  let chi = 0;
  for (const id of ids) chi += ((counts.get(id) ?? 0) - expected) ** 2 / expected;
  // 4 degrees of freedom: p = 0.001 critical value is 18.47.
  assert(chi < 18.47, `chi-square ${chi} too high: ${JSON.stringify([...counts])}`);
});

Deno.test("least-loaded picks the lowest load per core, ties broken randomly", () => {
  const peers = [
    peer("me", { self: true, inflight: 4, cores: 2 }), // 2 per core
    peer("b", { inflight: 3, cores: 4 }), // 0.75
    peer("c", { inflight: 1, queued: 1, cores: 1 }), // 2
  ];
  const r = createRouter(view(peers), { random: rng(3) });
  assertEquals(r.pick("least-loaded")?.peerId, "b");
  const tied = createRouter(view([peer("x"), peer("y")]), { random: rng(5) });
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) seen.add(tied.pick("least-loaded")!.peerId);
  assertEquals(seen.size, 2);
});

Deno.test("p2c picks two distinct candidates and the lighter one wins", () => {
  const peers = [peer("light"), peer("heavy", { inflight: 10 })];
  const r = createRouter(view(peers), { random: rng(7) });
  // With two candidates p2c always compares both: the light one must always win.
  for (let i = 0; i < 500; i++) assertEquals(r.pick("p2c")?.peerId, "light");
});

Deno.test("p2c never picks the heaviest of three and favours the lightest", () => {
  const peers = [peer("a"), peer("b", { inflight: 5 }), peer("c", { inflight: 50 })];
  const r = createRouter(view(peers), { random: rng(11) });
  const counts = new Map<string, number>();
  const n = 30_000;
  for (let i = 0; i < n; i++) {
    const id = r.pick("p2c")!.peerId;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  assertEquals(counts.get("c"), undefined);
  // Pairs {a,b},{a,c} → a; {b,c} → b: a ≈ 2/3, b ≈ 1/3.
  const a = (counts.get("a") ?? 0) / n;
  assert(Math.abs(a - 2 / 3) < 0.02, `a share ${a}`);
});

Deno.test("p2c and least-loaded choose within the load sample, random over every member", () => {
  const me = peer("me", { self: true, inflight: 10 });
  const members = [me, ...["b", "c", "d", "e", "f"].map((id) => peer(id))];
  const sampled = [me, members[1]!, peer("c", { inflight: 4 })];
  const r = createRouter(view(members, sampled), { random: rng(19) });
  const seen = new Set<string>();
  for (let i = 0; i < 500; i++) {
    for (const s of ["p2c", "least-loaded"] as const) {
      const got = r.pick(s)!.peerId;
      assert(["me", "b", "c"].includes(got), `${s} picked ${got}, outside the sample`);
    }
    seen.add(r.pick("random")!.peerId);
  }
  assertEquals(r.pick("least-loaded")?.peerId, "b");
  assertEquals(seen.size, members.length, "random reaches members outside the sample");
  // Every sampled peer excluded: every other member is a candidate.
  assertEquals(r.pick("p2c", new Set(["me", "b", "c", "d", "e"]))?.peerId, "f");
});

Deno.test("a suspected peer is picked only when no other can run the call", () => {
  const r = createRouter(view([peer("me", { self: true }), peer("b", { suspect: true })]), {
    random: rng(23),
  });
  for (let i = 0; i < 100; i++) {
    for (const s of ["random", "least-loaded", "p2c"] as const) {
      assertEquals(r.pick(s)?.peerId, "me");
    }
  }
  assertEquals(r.pick("random", new Set(["me"]))?.peerId, "b");
});

Deno.test("older loads count less", () => {
  const r = createRouter(view([]), { ageHalfLifeMs: 1000 });
  const fresh = r.score(peer("x", { inflight: 8, cores: 2, ageMs: 0 }));
  const old = r.score(peer("x", { inflight: 8, cores: 2, ageMs: 1000 }));
  assertEquals(fresh, 4);
  assertEquals(old, 2);
});

Deno.test("begin/end counts own in-flight calls, end is idempotent, self not double counted", () => {
  const peers = [
    peer("me", { self: true, inflight: 1 }),
    peer("b", { cores: 2 }),
    peer("c", { cores: 2 }),
  ];
  const r = createRouter(view(peers), { random: rng(13) });
  const endB1 = r.begin("b");
  const endB2 = r.begin("b");
  assertEquals(r.score(peers[1]!), 1);
  assertEquals(r.pick("least-loaded")?.peerId, "c");
  endB1();
  endB1();
  assertEquals(r.score(peers[1]!), 0.5);
  endB2();
  assertEquals(r.score(peers[1]!), 0);
  r.begin("me");
  assertEquals(r.score(peers[0]!), 0.5, "self load is live, own calls not added");
});

Deno.test("in-flight accounting spreads a burst under a stale view (no herding)", () => {
  // Every peer reports zero load (stale view). A burst of 90 calls that have
  // not ended must spread evenly instead of all landing on one peer.
  const peers = ["a", "b", "c"].map((id) => peer(id, { cores: 1 }));
  for (const strategy of ["least-loaded", "p2c"] as const) {
    const r = createRouter(view(peers), { random: rng(17) });
    const counts = new Map<string, number>();
    for (let i = 0; i < 90; i++) {
      const p = r.pick(strategy)!;
      r.begin(p.peerId);
      counts.set(p.peerId, (counts.get(p.peerId) ?? 0) + 1);
    }
    for (const id of ["a", "b", "c"]) {
      const n = counts.get(id) ?? 0;
      assert(n >= 25 && n <= 35, `${strategy}: ${id} got ${n}`);
    }
  }
});

Deno.test("a leaving peer is never picked, but for local on itself", () => {
  const r = createRouter(
    view([peer("me", { self: true, leaving: true }), peer("b", { leaving: true }), peer("c")]),
    { random: rng(7) },
  );
  for (let i = 0; i < 200; i++) {
    for (const s of ["random", "least-loaded", "p2c"] as const) {
      assertEquals(r.pick(s)?.peerId, "c");
    }
  }
  assertEquals(r.pick("local")?.peerId, "me");
  assertEquals(r.pick("p2c", new Set(["c"])), undefined);
});
