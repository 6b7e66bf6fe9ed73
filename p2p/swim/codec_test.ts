import { deepStrictEqual as assertEquals, equal, ok } from "node:assert/strict";
import { encodeHead } from "../../core/mod.ts";
import { decodeSwim, encodeSwim, updateSize, wireSize } from "./codec.ts";
import type { SwimMessage, Update } from "./types.ts";

const id = "12D3KooWSimxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx000001";
const alive: Update = {
  id,
  addrs: [`/ip4/10.0.0.1/tcp/4001/p2p/${id}`],
  incarnation: 1_700_000_000_000,
  state: "alive",
};
const dead: Update = { id: "b", addrs: [], incarnation: 3, state: "dead" };

Deno.test("codec: every message kind round-trips", () => {
  const msgs: SwimMessage[] = [
    { t: "ping", seq: 1, meta: new Uint8Array([1, 2, 3]), updates: [alive, dead] },
    { t: "ping", seq: 2, updates: [] },
    {
      t: "ack",
      seq: 3,
      meta: new Uint8Array(256).fill(9),
      updates: [dead],
      who: true,
      view: { n: 3, h: 4294967295 },
    },
    { t: "ping", seq: 7, updates: [], view: { n: 1000, h: 0 } },
    { t: "ack", seq: 4, updates: [] },
    {
      t: "ping-req",
      seq: 5,
      target: id,
      addrs: alive.addrs,
      updates: [{ ...dead, state: "suspect" }],
    },
    { t: "nack", seq: 6, updates: [{ ...dead, state: "left" }] },
    { t: "gossip", updates: [alive] },
    { t: "sync", members: [alive, dead], reply: true },
  ];
  for (const m of msgs) {
    const bytes = encodeSwim(m);
    const back = decodeSwim(bytes);
    assertEquals(back, m);
    equal(wireSize(back!), bytes.length);
    equal(wireSize(m), bytes.length);
  }
});

Deno.test("codec: a steady-state ping with 100 bytes of meta stays small", () => {
  const n = encodeSwim({ t: "ping", seq: 123_456, meta: new Uint8Array(100), updates: [] }).length;
  ok(n < 140, `ping is ${n} bytes`);
});

Deno.test("codec: rejects malformed, out-of-bounds and oversized messages", () => {
  const bad: unknown[] = [
    { t: "p", s: -1, u: [] },
    { t: "p", s: 1.5, u: [] },
    { t: "p", s: 1 },
    { t: "p", s: 1, u: [], extra: 1 },
    { t: "x", s: 1, u: [] },
    { t: "p", s: 1, u: [["", 1, "a"]] },
    { t: "p", s: 1, u: [["a".repeat(129), 1, "a"]] },
    { t: "p", s: 1, u: [["a", 1, "q"]] },
    { t: "p", s: 1, u: [["a", -1, "a"]] },
    { t: "p", s: 1, u: [["a", 1, "a", Array(9).fill("/x")]] },
    { t: "p", s: 1, u: [["a", 1, "a", ["x".repeat(513)]]] },
    { t: "p", s: 1, u: Array(65).fill(["a", 1, "d"]) },
    { t: "r", s: 1, g: "a", u: [] },
    { t: "a", s: 1, u: [], w: 2 },
    { t: "y", m: [], r: "yes" },
    { t: "p", s: 1, u: [], v: [1] },
    { t: "p", s: 1, u: [], v: [1, 2 ** 32] },
    { t: "n", s: 1, u: [], v: [1, 2] },
    { t: "g", u: [], s: 1 },
  ];
  for (const head of bad) {
    equal(decodeSwim(encodeHead(head)), undefined, JSON.stringify(head).slice(0, 80));
  }
  equal(decodeSwim(new Uint8Array([0, 0])), undefined);
  equal(decodeSwim(new Uint8Array([0, 0, 0, 9, 1])), undefined);
  equal(
    decodeSwim(encodeHead({ t: "p", s: 1, u: [] }, new Uint8Array(257))),
    undefined,
    "meta over 256 bytes",
  );
  equal(
    decodeSwim(encodeHead({ t: "n", s: 1, u: [] }, new Uint8Array(1))),
    undefined,
    "meta on a nack",
  );
  equal(decodeSwim(new TextEncoder().encode("not a message at all")), undefined);
});

Deno.test("codec: updateSize tracks the encoded size of an update", () => {
  for (const u of [alive, dead]) {
    const one = encodeSwim({ t: "gossip", updates: [u] }).length;
    const two = encodeSwim({ t: "gossip", updates: [u, u] }).length;
    const per = two - one;
    ok(Math.abs(updateSize(u) - per) <= 4, `estimate ${updateSize(u)} vs ${per}`);
  }
});
