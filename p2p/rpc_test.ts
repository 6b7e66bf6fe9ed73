import {
  deepStrictEqual as assertEquals,
  ok as assert,
  rejects as assertRejects,
} from "node:assert/strict";
import { MeshError } from "./errors.ts";
import { encodeVarint } from "./frames.ts";
import { libp2pTest, startNode, startPair } from "./_testing.ts";
import type { MeshInternals } from "./mesh.ts";

const P = "/virgo/test/1.0.0";
const bytes = (...b: number[]) => new Uint8Array(b);

async function pair(): Promise<[MeshInternals, MeshInternals]> {
  const [a, b] = await startPair();
  await a.handle(P, async (req, from) => {
    if (req[0] === 9) {
      throw Object.assign(new Error("version mismatch"), { code: "PRECONDITION_FAILED" });
    }
    if (req[0] === 8) throw new Error("plain failure");
    if (req[0] === 7) await new Promise((r) => setTimeout(r, 20));
    if (req[0] === 6) return new TextEncoder().encode(from);
    if (req[0] === 5) return new Uint8Array(2048);
    return req;
  }, { maxBytes: 1024 });
  return [a, b];
}

Deno.test({
  name: "rpc: roundtrip, caller id, and handler error codes cross the wire",
  ...libp2pTest,
  async fn() {
    const [a, b] = await pair();
    try {
      assertEquals(await b.request(a.peerId, P, bytes(1, 2, 3)), bytes(1, 2, 3));
      assertEquals(new TextDecoder().decode(await b.request(a.peerId, P, bytes(6))), b.peerId);
      await assertRejects(b.request(a.peerId, P, bytes(9)), (e: unknown) => {
        assert(e instanceof MeshError);
        assertEquals([e.code, e.message, e.remote], [
          "PRECONDITION_FAILED",
          "version mismatch",
          true,
        ]);
        return true;
      });
      await assertRejects(b.request(a.peerId, P, bytes(8)), {
        name: "MeshError",
        code: "PEER_FAILED",
        message: "plain failure",
      });
      // The stream stays usable after error replies.
      assertEquals(await b.request(a.peerId, P, bytes(4)), bytes(4));
      assertEquals(b.poolStats().rpc.opened, 1);
    } finally {
      await b.stop();
      await a.stop();
    }
  },
});

Deno.test({
  name:
    "rpc: size bounds — oversized request resets only that stream; oversized reply is FRAME_TOO_LARGE",
  ...libp2pTest,
  async fn() {
    const [a, b] = await pair();
    try {
      await assertRejects(b.request(a.peerId, P, new Uint8Array(2000)), { code: "PEER_FAILED" });
      await assertRejects(b.request(a.peerId, P, bytes(5), { maxBytes: 100 }), {
        code: "FRAME_TOO_LARGE",
      });
      assertEquals(await b.request(a.peerId, P, bytes(1)), bytes(1));
    } finally {
      await b.stop();
      await a.stop();
    }
  },
});

Deno.test({
  name: "rpc: many parallel calls reuse a bounded pool of streams",
  ...libp2pTest,
  async fn() {
    const [a, b] = await pair();
    try {
      const calls = Array.from(
        { length: 500 },
        (_, i) => b.request(a.peerId, P, bytes(i % 5 === 0 ? 7 : 1, i % 256)),
      );
      const replies = await Promise.all(calls);
      replies.forEach((r, i) => assertEquals(r[1], i % 256));
      const s = b.poolStats().rpc;
      assert(s.opened <= 32, `opened ${s.opened}`);
      assertEquals(s.idle, s.open);
      for (let i = 0; i < 100; i++) await b.request(a.peerId, P, bytes(1));
      assertEquals(b.poolStats().rpc.opened, s.opened, "sequential calls open no new streams");
    } finally {
      await b.stop();
      await a.stop();
    }
  },
});

Deno.test({
  name: "rpc: abort signal, unknown peer, self request",
  ...libp2pTest,
  async fn() {
    const [a, b] = await pair();
    try {
      const ac = new AbortController();
      const p = b.request(a.peerId, P, bytes(7), { signal: ac.signal });
      ac.abort(new Error("caller gave up"));
      await assertRejects(p, /caller gave up/);
      assertEquals(await b.request(a.peerId, P, bytes(2)), bytes(2));
      await assertRejects(b.request("not-a-peer", P, bytes(1)), { code: "PEER_UNKNOWN" });
      const stranger = await startNode();
      const strangerId = stranger.peerId;
      await stranger.stop();
      await assertRejects(b.request(strangerId, P, bytes(1)), { code: "PEER_UNKNOWN" });
      assertEquals(await a.request(a.peerId, P, bytes(3)), bytes(3));
      await assertRejects(a.request(a.peerId, P, bytes(9)), { code: "PRECONDITION_FAILED" });
    } finally {
      await b.stop();
      await a.stop();
    }
  },
});

Deno.test({
  name: "rpc: raw client sending a malformed frame or a huge length prefix leaves the node serving",
  ...libp2pTest,
  async fn() {
    const [a, b] = await pair();
    try {
      const bad = [
        new Uint8Array(8).fill(0xff), // varint that never ends
        encodeVarint(100 * 1024 * 1024), // 100 MiB length prefix
        new Uint8Array([...encodeVarint(10), 1, 2]), // truncated frame, then close
      ];
      for (const payload of bad) {
        const s = await b.node.dialProtocol(a.node.peerId, P);
        const closed = new Promise((r) => s.addEventListener("close", r, { once: true }));
        s.send(payload);
        await s.close().catch(() => {});
        await closed;
        assertEquals(await b.request(a.peerId, P, bytes(1)), bytes(1));
      }
    } finally {
      await b.stop();
      await a.stop();
    }
  },
});
