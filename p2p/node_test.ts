import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { MultiaddrConnection, Stream } from "@libp2p/interface";
import { StreamState } from "@libp2p/yamux/stream";
import { Uint8ArrayList } from "uint8arraylist";
import { oneWritePerSend } from "./_tcp_one_write.ts";
import { updateCanWait } from "./_yamux_window.ts";
import { libp2pTest, startNode, waitFor } from "./_testing.ts";

Deno.test("tcp: what is sent in one turn reaches the socket as one buffer; a large send goes at once", async () => {
  const seen: Uint8Array[][] = [];
  const conn = {
    sendData(data: Uint8ArrayList) {
      seen.push([...data]);
      return { sentBytes: data.byteLength, canSendMore: true };
    },
    sendClose: () => Promise.resolve(),
  };
  oneWritePerSend(conn as unknown as MultiaddrConnection);
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const r = conn.sendData(new Uint8ArrayList(new Uint8Array([0, 3]), new Uint8Array([1, 2, 3])));
  conn.sendData(new Uint8ArrayList(new Uint8Array([7])));
  assertEquals(r, { sentBytes: 5, canSendMore: true });
  assertEquals(seen.length, 0, "nothing written before the turn ends");
  await turn();
  assertEquals(seen, [[new Uint8Array([0, 3, 1, 2, 3, 7])]]);
  const one = new Uint8Array([9, 9]);
  conn.sendData(new Uint8ArrayList(one));
  await turn();
  assert(seen[1]![0] === one, "a lone one-chunk send is not copied");
  // Past 64 KiB: written at once, after what was waiting.
  conn.sendData(new Uint8ArrayList(new Uint8Array([5])));
  conn.sendData(new Uint8ArrayList(new Uint8Array(70_000)));
  assertEquals(seen.length, 3);
  assertEquals(seen[2]![0]!.byteLength, 70_001);
  assertEquals(seen[2]![0]![0], 5);
  // Closing writes what waits first.
  conn.sendData(new Uint8ArrayList(new Uint8Array([6])));
  await conn.sendClose();
  assertEquals(seen[3], [new Uint8Array([6])]);
  await turn();
  assertEquals(seen.length, 4);
  const other = {};
  oneWritePerSend(other as unknown as MultiaddrConnection);
  assertEquals(other, {});
});

Deno.test("yamux: a window update waits only on an established stream with over half its window left", () => {
  const at = (state: StreamState, recvWindowCapacity: number) =>
    updateCanWait({ state, recvWindow: 1000, recvWindowCapacity });
  assertEquals(at(StreamState.Established, 1000), true);
  assertEquals(at(StreamState.Established, 501), true);
  assertEquals(at(StreamState.Established, 500), false);
  for (
    const s of [StreamState.Init, StreamState.SYNReceived, StreamState.SYNSent, StreamState.Paused]
  ) {
    assertEquals(at(s, 1000), false);
  }
});

Deno.test({
  name:
    "yamux: small frames get no window update each; past half the window it is granted back and bulk data flows",
  ...libp2pTest,
  async fn() {
    const proto = "/virgo/test/window/1.0.0";
    const a = await startNode();
    const b = await startNode({ join: a.addrs() });
    try {
      await waitFor(() => b.peers().length === 2, 5_000, "join");
      let received = 0;
      await a.node.handle(proto, (stream: Stream) => {
        stream.addEventListener("message", (evt) => (received += evt.data.byteLength));
      });
      const s = await b.node.dialProtocol(a.node.peerId, proto);
      const capacity = () => (s as unknown as { sendWindowCapacity: number }).sendWindowCapacity;
      // The first frame is answered (the stream's ACK); measure from there.
      s.send(new Uint8Array(1));
      await waitFor(() => received === 1, 5_000, "first frame");
      await waitFor(() => capacity() > 0, 5_000, "ack");
      const start = capacity();
      for (let i = 0; i < 50; i++) s.send(new Uint8Array(100));
      await waitFor(() => received === 5_001, 5_000, "small frames");
      // A round trip more, for any window update in flight to arrive.
      await b.node.services.ping.ping(a.node.peerId);
      assertEquals(capacity(), start - 5_000);
      // 4 MiB, many times the window: it only arrives if the window is granted back.
      const chunk = new Uint8Array(64 * 1024);
      for (let i = 0; i < 64; i++) {
        if (!s.send(chunk)) await s.onDrain();
      }
      await waitFor(() => received === 5_001 + 64 * chunk.byteLength, 10_000, "bulk");
      await s.close();
    } finally {
      await b.stop();
      await a.stop();
    }
  },
});
