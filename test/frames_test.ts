/**
 * Malformed libp2p frames sent to a real peer process on each of its
 * protocols: a stream whose framing is broken is reset; a well-framed
 * payload that is no message resets the streaming protocols (invoke) and the
 * one-way ones (SWIM, leave notice), and gets an error reply on the
 * request/response ones; and the peer keeps serving the mesh and HTTP.
 */
import assert from "node:assert/strict";
import { multiaddr } from "@multiformats/multiaddr";
import { createMesh, type MeshInternals } from "../p2p/mod.ts";
import { fakeLoad } from "../p2p/_testing.ts";
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
  "/virgo/catalog/2.0.0",
  "/virgo/swim/1.0.0",
  "/virgo/leave/1.0.0",
];

/** Each bad input, and whether its framing is broken (else only its payload is). */
const BAD: Array<[string, Uint8Array, "framing" | "payload"]> = [
  ["a varint that never ends", new Uint8Array(12).fill(0xff), "framing"],
  ["a 100 MiB length prefix", new Uint8Array(varint(100 * 1024 * 1024)), "framing"],
  ["a truncated frame", new Uint8Array([...varint(50), 1, 2, 3]), "framing"],
  [
    "a frame of garbage",
    new Uint8Array([...varint(16), ...crypto.getRandomValues(new Uint8Array(16))]),
    "payload",
  ],
  [
    "a frame of JSON that is not a message",
    new Uint8Array([...varint(13), ...new TextEncoder().encode('{"evil":true}')]),
    "payload",
  ],
];

/**
 * How each request/response protocol answers a well-framed payload that is no request: the
 * reply frame's status byte (0 ok, 1 error) and a pattern its body must match.
 */
const REPLIES: Record<string, [number, RegExp]> = {
  // Every protocol puts errors on the mesh's one error channel: status 1, `{ code, message }`.
  "/virgo/kv/1.0.0": [1, /^\{"code":"BAD_FRAME",/],
  "/virgo/bundle/1.0.0": [1, /^\{"code":"BAD_REQUEST",/],
  "/virgo/catalog/2.0.0": [1, /^\{"code":"BAD_REQUEST",/],
};

/** The status byte and body of the one length-prefixed reply frame in `bytes`. */
function replyOf(bytes: Uint8Array): [number | undefined, string] {
  let len = 0;
  let i = 0;
  for (let shift = 1; i < bytes.length; i++, shift *= 128) {
    len += (bytes[i]! & 0x7f) * shift;
    if (bytes[i]! < 0x80) break;
  }
  const frame = bytes.subarray(i + 1);
  assert.equal(frame.byteLength, len, "one whole reply frame");
  return [frame[0], new TextDecoder().decode(frame.subarray(1))];
}

Deno.test("malformed frames on every protocol leave a peer serving", opts, async (t) => {
  const peer = await startPeer();
  const data = await Deno.makeTempDir({ prefix: "virgo-client-" });
  const client = await createMesh({
    dataDir: data,
    listen: ["/ip4/127.0.0.1/tcp/0"],
    join: [peer.p2p],
    mdns: false,
    logger: silentLogger,
    localLoad: () => fakeLoad(),
  }) as MeshInternals;
  try {
    await deploy(peer, "hello", "hello");
    await waitFor(
      "the client to see the peer",
      () => client.peers().some((p) => p.peerId === peer.peerId),
    );
    for (const protocol of PROTOCOLS) {
      await t.step(protocol, async () => {
        for (const [what, bytes, broken] of BAD) {
          const stream = await client.node.dialProtocol(multiaddr(peer.p2p), protocol);
          const closed = new Promise<Event & { error?: Error }>((r) =>
            stream.addEventListener("close", r, { once: true })
          );
          const received: Uint8Array[] = [];
          stream.addEventListener("message", (e) => received.push(e.data.subarray()));
          stream.send(bytes);
          await stream.close().catch(() => {});
          const ended = await closed;
          const reply = replyOf(new Uint8Array(received.flatMap((c) => [...c])));
          const expected = REPLIES[protocol];
          if (broken === "framing" || !expected) {
            assert.equal(stream.status, "reset", `${what}: answered ${reply}`);
            assert.equal(ended.error?.name, "StreamResetError", what);
            assert.equal(received.length, 0, `${what}: answered ${reply}`);
          } else {
            assert.equal(stream.status, "closed", what);
            assert.equal(reply[0], expected[0], `${what}: ${reply}`);
            assert.match(reply[1], expected[1], what);
          }
          // The mesh still answers on the same peer, and so does HTTP.
          const get = new TextEncoder().encode(JSON.stringify({ op: "get", names: ["hello"] }));
          const catalog = JSON.parse(
            new TextDecoder().decode(
              await client.request(peer.peerId, "/virgo/catalog/2.0.0", get),
            ),
          ) as { entries: Array<{ name: string }> };
          assert.ok(catalog.entries.some((f) => f.name === "hello"), `after ${what}`);
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
