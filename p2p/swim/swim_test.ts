import { deepStrictEqual as assertEquals, equal, ok } from "node:assert/strict";
import { createSimCluster, createVirtualScheduler } from "./_sim.ts";
import { createSwim } from "./swim.ts";
import type { SwimEvent, SwimMessage } from "./types.ts";

function cluster(n: number) {
  const c = createSimCluster({ n, seed: 7 });
  for (let i = 0; i < n; i++) c.start(i, [0]);
  return c;
}

/** One instance whose sent messages are recorded, on virtual time. */
function lone() {
  const scheduler = createVirtualScheduler();
  const sent: Array<{ to: string; addrs: string[]; msg: SwimMessage }> = [];
  const events: SwimEvent[] = [];
  const swim = createSwim({
    self: { id: "me", addrs: ["/me"] },
    scheduler,
    random: () => 0.5,
    meta: () => new Uint8Array([7]),
    transport: { send: (to, addrs, msg) => sent.push({ to, addrs, msg }) },
  });
  swim.onEvent((ev) => events.push(ev));
  swim.start();
  return { scheduler, sent, events, swim };
}

Deno.test("swim: peers joined through one seed list each other, with meta", () => {
  const c = cluster(8);
  c.scheduler.run(5_000);
  ok(c.converged());
  for (const p of c.peers) {
    equal(p.swim.alive().length, 7);
    for (const m of p.swim.alive()) equal(m.state, "alive");
  }
  // Within a few periods each peer has pinged or been pinged by most others and kept their meta.
  c.scheduler.run(20_000);
  const withMeta = c.peers[0]!.swim.alive().filter((m) => m.meta?.length === 100);
  ok(withMeta.length >= 5, `meta from ${withMeta.length}`);
});

Deno.test("swim: a graceful leave reaches everyone as `left`, without suspicion", () => {
  const c = cluster(8);
  c.scheduler.run(5_000);
  const seen: string[] = [];
  c.onEvent((p, ev) => ev.member.id === c.peers[3]!.id && seen.push(`${p.index}:${ev.type}`));
  c.peers[3]!.swim.leave();
  c.scheduler.run(7_000);
  c.kill(3);
  for (const p of c.peers) if (p.index !== 3) equal(p.swim.get(c.peers[3]!.id)?.state, "left");
  equal(seen.length, 7);
  ok(seen.every((s) => s.endsWith(":leave")), seen.join(" "));
});

Deno.test("swim: a killed peer is suspected, then declared dead by everyone; it is forgotten later", () => {
  const c = cluster(8);
  c.scheduler.run(5_000);
  const victim = c.peers[5]!.id;
  c.kill(5);
  c.scheduler.run(30_000);
  for (const p of c.peers) if (p.up) equal(p.swim.get(victim)?.state, "dead");
  ok(c.converged());
  c.scheduler.run(100_000);
  for (const p of c.peers) if (p.up) equal(p.swim.get(victim), undefined);
});

Deno.test("swim: a peer declared dead that comes back refutes and is a member again", () => {
  const c = cluster(6);
  c.scheduler.run(5_000);
  c.kill(4);
  c.scheduler.run(30_000);
  equal(c.peers[0]!.swim.get(c.peers[4]!.id)?.state, "dead");
  // It comes back (as after SIGSTOP past the failure timeout): those who hold it dead tell it
  // so when it pings them, it refutes with a higher incarnation and is a member again.
  const joins: number[] = [];
  c.onEvent((p, ev) =>
    ev.type === "join" && ev.member.id === c.peers[4]!.id && joins.push(p.index)
  );
  c.peers[4]!.up = true;
  c.peers[4]!.swim.start();
  c.scheduler.run(45_000);
  ok(c.peers[4]!.swim.incarnation > 0);
  equal(joins.length, 5);
  ok(c.converged());
});

Deno.test("swim: news of our own suspicion is refuted with a higher incarnation", () => {
  const { swim, scheduler, sent } = lone();
  swim.receive("b", {
    t: "sync",
    members: [{ id: "b", addrs: ["/b"], incarnation: 0, state: "alive" }],
    reply: false,
  });
  swim.receive("b", {
    t: "ping",
    seq: 9,
    updates: [{ id: "me", addrs: [], incarnation: 0, state: "suspect" }],
  });
  equal(swim.incarnation, 1);
  const ack = sent.at(-1)!.msg;
  equal(ack.t, "ack");
  ok(
    ack.t === "ack" &&
      ack.updates.some((u) => u.id === "me" && u.state === "alive" && u.incarnation === 1),
  );
  // An older suspicion changes nothing.
  swim.receive("b", {
    t: "ping",
    seq: 10,
    updates: [{ id: "me", addrs: [], incarnation: 0, state: "suspect" }],
  });
  equal(swim.incarnation, 1);
  scheduler.run(1);
});

Deno.test("swim: declared dead, a peer refutes and asks the teller for a full sync", () => {
  const { swim, sent } = lone();
  swim.receive("b", {
    t: "sync",
    members: [{ id: "b", addrs: ["/b"], incarnation: 0, state: "alive" }],
    reply: false,
  });
  swim.receive("b", {
    t: "gossip",
    updates: [{ id: "me", addrs: [], incarnation: 0, state: "dead" }],
  });
  equal(swim.incarnation, 1);
  const sync = sent.find((s) => s.msg.t === "sync");
  ok(sync && sync.msg.t === "sync" && sync.msg.reply && sync.to === "b");
});

Deno.test("swim: a ping from an unknown peer is answered (empty addrs) and asks who it is", () => {
  const { swim, sent } = lone();
  swim.receive("x", { t: "ping", seq: 4, updates: [] });
  const last = sent.at(-1)!;
  assertEquals([last.to, last.addrs, last.msg.t], ["x", [], "ack"]);
  ok(last.msg.t === "ack" && last.msg.who && last.msg.seq === 4 && last.msg.meta?.[0] === 7);
  equal(swim.stats.received, 1);
  equal(swim.stats.sent, sent.length);
});

Deno.test("swim: hint probes at once; ping-req is relayed and answered with a nack when the target is silent", () => {
  const { swim, sent, scheduler } = lone();
  swim.receive("b", {
    t: "sync",
    members: [{ id: "b", addrs: ["/b"], incarnation: 0, state: "alive" }, {
      id: "c",
      addrs: ["/c"],
      incarnation: 0,
      state: "alive",
    }],
    reply: false,
  });
  sent.length = 0;
  swim.hint("c");
  assertEquals(sent.map((s) => [s.to, s.msg.t]), [["c", "ping"]]);
  swim.receive("b", { t: "ping-req", seq: 77, target: "c", addrs: ["/c"], updates: [] });
  const relayed = sent.at(-1)!;
  assertEquals([relayed.to, relayed.msg.t], ["c", "ping"]);
  scheduler.run(scheduler.now() + 600);
  ok(sent.some((s) => s.to === "b" && s.msg.t === "nack" && s.msg.seq === 77));
  // The target's ack, relayed to the requester with the requester's seq.
  const seq = relayed.msg.t === "ping" ? relayed.msg.seq : -1;
  swim.receive("c", { t: "ack", seq, updates: [] });
  ok(sent.some((s) => s.to === "b" && s.msg.t === "ack" && s.msg.seq === 77));
});
