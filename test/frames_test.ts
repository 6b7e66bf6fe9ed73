/**
 * Malformed libp2p frames sent to a real peer process on each of its
 * protocols: each bad stream is reset, and the peer keeps serving the mesh
 * and HTTP.
 */
import assert from "node:assert/strict";
import { multiaddr } from "@multiformats/multiaddr";
import { createMesh, type MeshInternals } from "../p2p/mod.ts";
import { silentLogger } from "../runtime/log.ts";
import { deploy, startPeer, waitFor } from "./_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

const PROTOCOLS = [
  "/virgo/invoke/1.0.0",
  "/virgo/kv/1.0.0",
  "/virgo/bundle/1.0.0",
  "/virgo/catalog/1.0.0",
  "/virgo/load/1.0.0",
];

const BAD: Array<[string, Uint8Array]> = [
  ["a varint that never ends", new Uint8Array(12).fill(0xff)],
  ["a 100 MiB length prefix", new Uint8Array(varint(100 * 1024 * 1024))],
  ["a truncated frame", new Uint8Array([...varint(50), 1, 2, 3])],
  [
    "a frame of garbage",
    new Uint8Array([...varint(16), ...crypto.getRandomValues(new Uint8Array(16))]),
  ],
  [
    "a frame of JSON that is not a message",
    new Uint8Array([...varint(13), ...new TextEncoder().encode('{"evil":true}')]),
  ],
];

Deno.test("malformed frames on every protocol leave a peer serving", opts, async (t) => {
  const peer = await startPeer();
  const data = await Deno.makeTempDir({ prefix: "virgo-client-" });
  const client = await createMesh({
    dataDir: data,
    listen: ["/ip4/127.0.0.1/tcp/0"],
    join: [peer.p2p],
    mdns: false,
    logger: silentLogger,
    localLoad: () => ({
      inflight: 0,
      queued: 0,
      cores: 1,
      loopDelayMs: 0,
      poolTotalBytes: 0,
      poolFreeBytes: 0,
      functions: [],
    }),
  }) as MeshInternals;
  try {
    await deploy(peer, "hello", "hello");
    await waitFor(
      "the client to see the peer",
      () => client.peers().some((p) => p.peerId === peer.peerId),
    );
    for (const protocol of PROTOCOLS) {
      await t.step(protocol, async () => {
        for (const [what, bytes] of BAD) {
          const stream = await client.node.dialProtocol(multiaddr(peer.p2p), protocol);
          const closed = new Promise((r) => stream.addEventListener("close", r, { once: true }));
          stream.send(bytes);
          await stream.close().catch(() => {});
          await closed;
          // The mesh still answers on the same peer, and so does HTTP.
          const catalog = JSON.parse(
            new TextDecoder().decode(
              await client.request(peer.peerId, "/virgo/catalog/1.0.0", new Uint8Array(0)),
            ),
          ) as Array<{ name: string }>;
          assert.ok(catalog.some((f) => f.name === "hello"), `after ${what}`);
          const res = await client.invoke(
            peer.peerId,
            new Request("http://peer/fn/hello?name=mesh"),
          );
          assert.equal(await res.text(), `hello mesh from ${peer.peerId}\n`, `after ${what}`);
        }
        assert.equal((await fetch(`${peer.url}/healthz`)).status, 200);
      });
    }
  } finally {
    await client.stop();
    await peer.stop();
    await Deno.remove(data, { recursive: true }).catch(() => {});
  }
});
