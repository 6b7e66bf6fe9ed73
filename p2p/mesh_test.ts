import {
  deepStrictEqual as assertEquals,
  ok as assert,
  rejects as assertRejects,
} from "node:assert/strict";
import { LEAVE_ACK_TIMEOUT_MS, LEAVE_PROTOCOL } from "./constants.ts";
import { createRouter } from "./routing.ts";
import { fakeLoad, libp2pTest, startNode, startPair, waitFor, within } from "./_testing.ts";
import type { MembershipEvent } from "./types.ts";

Deno.test({
  name: "mesh: 3 nodes join by `join`, each sees every member and, by SWIM, their loads",
  ...libp2pTest,
  async fn() {
    const catalog = { digest: "d1", count: 1 };
    const a = await startNode({ localLoad: () => fakeLoad({ inflight: 1, catalog }) });
    const b = await startNode({ join: a.addrs(), localLoad: () => fakeLoad({ inflight: 2 }) });
    const c = await startNode({
      join: a.addrs(),
      localLoad: () => fakeLoad({ inflight: 3, http: "http://c" }),
    });
    const nodes = [a, b, c];
    try {
      await waitFor(() => nodes.every((n) => n.peers().length === 3), 10_000, "full view");
      // Loads ride on SWIM's pings and acks: each member's arrives once it probes or is probed.
      await waitFor(
        () => nodes.every((n) => n.peers().every((p) => Number.isFinite(p.ageMs))),
        15_000,
        "every load heard",
      );
      for (const n of nodes) {
        const peers = n.peers();
        assertEquals(peers[0]?.peerId, n.peerId, "self first");
        assert(peers[0]?.self && peers[0].ageMs === 0);
        // Ages are measured from receipt, so they are never negative.
        assert(peers.slice(1).every((p) => !p.self && p.ageMs >= 0));
        const byId = new Map(peers.map((p) => [p.peerId, p]));
        assertEquals(byId.get(a.peerId)?.inflight, 1);
        assertEquals(byId.get(a.peerId)?.catalog, catalog);
        assertEquals(byId.get(b.peerId)?.inflight, 2);
        assertEquals(byId.get(c.peerId)?.http, "http://c");
        assert(byId.get(c.peerId)!.addrs.some((x) => x.endsWith(`/p2p/${c.peerId}`)));
      }
      // b and c only knew a, yet they reach each other directly (addresses learned by SWIM).
      await waitFor(
        () => b.node.getConnections().some((x) => x.remotePeer.toString() === c.peerId),
        15_000,
        "b–c",
      );
    } finally {
      for (const n of nodes) await n.stop();
    }
  },
});

Deno.test({
  name: "mesh: a node stopped without leave() is found dead by SWIM and leaves every view",
  ...libp2pTest,
  async fn() {
    const a = await startNode();
    const b = await startNode({ join: a.addrs() });
    const c = await startNode({ join: a.addrs() });
    try {
      await waitFor(() => [a, b, c].every((n) => n.peers().length === 3), 10_000, "full view");
      const left = (n: typeof a) =>
        new Promise<MembershipEvent>((resolve) => {
          const off = n.onMembership((ev) => {
            if (ev.type === "leave" && ev.peerId === c.peerId) {
              off();
              resolve(ev);
            }
          });
        });
      const leaves = Promise.all([left(a), left(b)]);
      await c.stop();
      // Probe, ping-req, suspicion (4 periods at this size): well under this bound.
      await within(leaves, 30_000, "c's leave events");
      assertEquals(a.peers().length, 2);
      assertEquals(b.peers().length, 2);
    } finally {
      for (const n of [a, b, c]) await n.stop();
    }
  },
});

Deno.test({
  name: "mesh: peer id persists across restart, and the restarted peer rejoins",
  ...libp2pTest,
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "virgo-p2p-" });
    const a = await startNode();
    let b = await startNode({ dataDir, join: a.addrs() });
    const id = b.peerId;
    try {
      await waitFor(() => a.peers().length === 2, 10_000, "join");
      await b.leave();
      await b.stop();
      await waitFor(() => a.peers().length === 1, 30_000, "leave");
      b = await startNode({ dataDir, join: a.addrs() });
      assertEquals(b.peerId, id);
      // Its boot-time incarnation is above the one it left with: SWIM takes it back.
      await waitFor(() => a.peers().some((p) => p.peerId === id), 10_000, "rejoin");
      assert(!a.peers().find((p) => p.peerId === id)?.leaving);
    } finally {
      await b.stop();
      await a.stop();
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "mesh: publish/subscribe on an app topic reports the sender",
  ...libp2pTest,
  async fn() {
    const a = await startNode();
    const b = await startNode({ join: a.addrs() });
    try {
      const got: Array<[string, string]> = [];
      a.subscribe("app/1", (data, from) => got.push([new TextDecoder().decode(data), from]));
      b.subscribe("app/1", () => {});
      await waitFor(() => a.peers().length === 2, 10_000, "join");
      // Subscriptions propagate asynchronously: publish until one arrives.
      await waitFor(
        () => {
          void b.publish("app/1", new TextEncoder().encode("hi"));
          return got.length > 0;
        },
        5_000,
        "delivery",
      );
      assertEquals(got[0], ["hi", b.peerId]);
    } finally {
      await b.stop();
      await a.stop();
    }
  },
});

Deno.test({
  name:
    "mesh: a leaving peer is out of every router once leave() resolves, stays a member, and refuses new invokes with SHUTTING_DOWN while those running finish",
  ...libp2pTest,
  async fn() {
    const a = await startNode();
    const b = await startNode({ join: a.addrs() });
    const c = await startNode({ join: a.addrs() });
    const nodes = [a, b, c];
    try {
      await waitFor(() => nodes.every((n) => n.peers().length === 3), 10_000, "full view");
      // b and c must be connected directly for c's leave notice to reach b at once — on c's
      // side too: c sends it over the connections it holds open, and each side of a new
      // connection finishes its upgrade at its own moment.
      const linked = (x: typeof a, y: typeof a) =>
        x.node.getConnections().some((k) =>
          k.remotePeer.toString() === y.peerId && k.status === "open"
        );
      await waitFor(() => linked(b, c) && linked(c, b) && linked(c, a), 15_000, "b–c, c–a");
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      await c.serveInvoke(async (call) => {
        if (new URL(call.url).pathname === "/hold") await held;
        return new Response("from c");
      });
      await c.handle("/test/echo/1", (req) => Promise.resolve(req));
      await a.handle("/test/echo/1", (req) => Promise.resolve(req));
      const running = a.invoke(c.peerId, new Request("http://fn/hold"));
      // Awaited below; if a step between fails, stopping the nodes fails this call too, and that
      // must not hide the step's own error as an unhandled rejection.
      running.catch(() => {});

      await c.leave();
      // No waiting: acknowledged means each peer already routes elsewhere.
      for (const n of [a, b]) {
        assertEquals(n.peers().find((p) => p.peerId === c.peerId)?.leaving, true);
        const routers = createRouter(n);
        for (let i = 0; i < 50; i++) {
          for (const s of ["random", "p2c", "least-loaded"] as const) {
            assert(routers.pick(s)?.peerId !== c.peerId, `${s} picked c`);
          }
        }
      }
      assertEquals(c.peers()[0]?.leaving, true, "c knows it is leaving");
      // Still a member both ways: its frames are served, and it serves.
      assertEquals(
        await a.request(c.peerId, "/test/echo/1", new Uint8Array([1])),
        new Uint8Array([1]),
      );
      assertEquals(
        await c.request(a.peerId, "/test/echo/1", new Uint8Array([2])),
        new Uint8Array([2]),
      );
      // Until it drains, routed calls are still served.
      assertEquals(await (await b.invoke(c.peerId, new Request("http://fn/x"))).text(), "from c");

      let drained = false;
      const draining = c.drain().then(() => (drained = true));
      await assertRejects(b.invoke(c.peerId, new Request("http://fn/late")), {
        name: "MeshError",
        code: "SHUTTING_DOWN",
        remote: true,
      });
      assertEquals(drained, false, "drain waits for the call still running");
      release();
      assertEquals(await (await running).text(), "from c");
      await draining;
    } finally {
      for (const n of nodes) await n.stop();
    }
  },
});

Deno.test({
  name: "mesh: leave() ends at its bound when a peer never acknowledges",
  ...libp2pTest,
  async fn() {
    const [a, b] = await startPair();
    try {
      // a takes the notice in but never closes the stream: the acknowledgement never comes.
      await a.node.unhandle(LEAVE_PROTOCOL);
      await a.node.handle(LEAVE_PROTOCOL, () => {});
      const t0 = performance.now();
      // Without its bound it would wait for ever: a generous limit tells the two apart.
      await within(b.leave(), LEAVE_ACK_TIMEOUT_MS + 30_000, "leave() to end");
      const took = performance.now() - t0;
      // It did wait for the acknowledgement, up to its bound (less a clock tick).
      assert(took >= LEAVE_ACK_TIMEOUT_MS - 5, `${took} ms`);
    } finally {
      await b.stop();
      await a.stop();
    }
  },
});
