/**
 * Locked by default, tried from outside as an attacker would, against real peer processes on
 * loopback: what an unlocked peer refuses to expose, what a mesh member that holds the swarm
 * key but not the operator key can forge (nothing), and what a connection that is not a
 * member can write (nothing). No packet leaves loopback.
 */
import assert from "node:assert/strict";
import { multiaddr } from "@multiformats/multiaddr";
import { formatVersion } from "../kv/mod.ts";
import { encodeMessage } from "../kv/wire.ts";
import { createMesh, type MeshInternals } from "../p2p/mod.ts";
import { fakeLoad } from "../p2p/_testing.ts";
import { FrameReader, writeFrame } from "../p2p/frames.ts";
import { loadOrCreatePeerKey } from "../p2p/key.ts";
import { createNode } from "../p2p/node.ts";
import {
  type FunctionMeta,
  generateOperatorKey,
  loadOperator,
  signedBytes,
} from "../runtime/catalog/mod.ts";
import { silentLogger } from "../runtime/log.ts";
import { sha256Hex } from "../core/mod.ts";
import { createDigestTree } from "../runtime/catalog/digest.ts";
import { answerWalk, WalkRequestSchema } from "../runtime/catalog/walk.ts";
import { cli, type PeerProcess, startPeer, stopAll, viewOf, waitFor } from "./_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Lines of a peer's JSON log at warn level (pino: 40) that contain every one of `parts`. */
function warned(peer: PeerProcess, ...parts: string[]): boolean {
  return peer.logs.some((l) => l.includes('"level":40') && parts.every((p) => l.includes(p)));
}

Deno.test("an unlocked peer refuses to listen off loopback, naming the fix", opts, async () => {
  const data = await Deno.makeTempDir({ prefix: "virgo-sec-" });
  try {
    const cases: Array<[string[], RegExp]> = [
      [["--p2p", "/ip4/0.0.0.0/tcp/0"], /without a swarm key: give --swarm-key .*virgo keygen/],
      [["--http", "0.0.0.0:0"], /without a token: give --token/],
    ];
    const dir = `${data}/keys`;
    assert.equal((await cli(["init", "--out", dir])).code, 0);
    cases.push([
      ["--p2p", "/ip4/0.0.0.0/tcp/0", "--swarm-key", `${dir}/swarm.key`],
      /without the operator's key: give --operator/,
    ]);
    for (const [args, message] of cases) {
      const r = await cli(["start", "--http", "127.0.0.1:0", "--data", data, ...args]);
      assert.equal(r.code, 2, `started with ${args.join(" ")}`);
      assert.match(r.stderr, message);
    }
    // And a second init does not overwrite the keys.
    const again = await cli(["init", "--out", dir]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /exists already/);
  } finally {
    await Deno.remove(data, { recursive: true });
  }
});

/** Whether the default libp2p port is free: the default-address test means nothing otherwise. */
function defaultPortFree(): boolean {
  try {
    Deno.listen({ hostname: "0.0.0.0", port: 7878 }).close();
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  ...opts,
  name: "a peer started without --p2p listens for peers on 127.0.0.1 only",
  // Skipped, and reported as skipped, where something else holds port 7878 — not passed unchecked.
  ignore: !defaultPortFree(),
}, async () => {
  // Another test run on the machine (CI shares it) may hold 7878 for a moment: wait for it to be
  // free again, and start again if it was taken between the check and the start.
  const peer = await waitFor(
    "the default p2p port free for this peer",
    async () => {
      if (!defaultPortFree()) return undefined;
      try {
        return await startPeer({ args: [], omitP2p: true });
      } catch (err) {
        if (/ADDRESS_IN_USE/.test(String(err))) return undefined;
        throw err;
      }
    },
    120_000,
    250,
  );
  try {
    assert.match(peer.p2p, /^\/ip4\/127\.0\.0\.1\/tcp\/7878\//);
    const sockets = await Deno.readTextFile("/proc/net/tcp");
    const listening = sockets.split("\n").slice(1).map((l) => l.trim().split(/\s+/))
      .filter((f) => f[3] === "0A" && f[1]?.endsWith(":1EC6")) // LISTEN on port 7878
      .map((f) => f[1]);
    assert.deepEqual(listening, ["0100007F:1EC6"]); // 127.0.0.1, never 0.0.0.0
  } finally {
    await stopAll([peer]);
  }
});

Deno.test(
  "only what the operator signed runs; a member with the swarm key cannot forge",
  opts,
  async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "virgo-sec-" });
    assert.equal((await cli(["init", "--out", `${dir}/keys`])).code, 0);
    const keys = `${dir}/keys`;
    const swarm = ["--swarm-key", `${keys}/swarm.key`];
    const peers: PeerProcess[] = [];
    let rogue: MeshInternals | undefined;
    try {
      const a = await startPeer({ args: [...swarm, "--operator-key", `${keys}/operator.key`] });
      peers.push(a);
      const b = await startPeer({
        join: [a.p2p],
        args: [...swarm, "--operator", `${keys}/operator.pub`],
      });
      peers.push(b);
      await waitFor("the mesh", async () => (await viewOf(b)).length === 2);

      await t.step("a peer that holds only the public key refuses to deploy", async () => {
        const res = await fetch(`${b.url}/v1/functions/nope`, {
          method: "PUT",
          body: JSON.stringify({ code: "export default { fetch: () => new Response('x') }" }),
        });
        assert.equal(res.status, 403);
        assert.match((await res.json()).error.message, /--operator-key/);
      });

      await t.step("a signed deploy runs everywhere", async () => {
        const res = await fetch(`${a.url}/v1/functions/good`, {
          method: "PUT",
          body: JSON.stringify({ code: "export default { fetch: () => new Response('good') }" }),
        });
        assert.equal(res.status, 201);
        await waitFor("b to run it", async () => {
          const r = await fetch(`${b.url}/fn/good`, { headers: { "x-virgo-route": "local" } });
          return (await r.text()) === "good";
        });
      });

      // A member of the mesh: it holds the swarm key, gossips its load, serves its own catalogue
      // and bundles — but it does not hold the operator key.
      rogue = await createMesh({
        dataDir: `${dir}/rogue`,
        listen: ["/ip4/127.0.0.1/tcp/0"],
        join: [a.p2p],
        mdns: false,
        logger: silentLogger,
        swarmKey: await Deno.readFile(`${keys}/swarm.key`),
        localLoad: () => fakeLoad(),
      }) as MeshInternals;
      const r = rogue;
      await waitFor(
        "a and b to count the rogue as a member",
        async () => (await viewOf(a)).includes(r.peerId) && (await viewOf(b)).includes(r.peerId),
      );

      const realOperator = (await loadOperator({ keyFile: `${keys}/operator.key` }))!;
      const other = await generateOperatorKey();
      await Deno.writeTextFile(`${dir}/other.key`, JSON.stringify(other.privateJwk));
      const otherOperator = (await loadOperator({ keyFile: `${dir}/other.key` }))!;
      const code = "export default { fetch: () => new Response('pwned') }";
      const entry = async (name: string, at = Date.now()): Promise<FunctionMeta> => ({
        name,
        version: (await sha256Hex(enc.encode(name))).slice(0, 16),
        hash: await sha256Hex(enc.encode(code)),
        size: code.length,
        vars: {},
        timeoutMs: 1000,
        memoryMb: 128,
        allowLoopback: true,
        allowPrivate: true,
        public: true,
        kvNamespace: name,
        stamp: formatVersion({ wall: at, counter: 0, peerId: r.peerId }),
        origin: r.peerId,
        deployedAt: new Date(at).toISOString(),
        deleted: false,
        secrets: {},
        secretsRev: "",
      });
      const signed = async (meta: FunctionMeta, by = realOperator) => ({
        ...meta,
        sig: await by.sign!(signedBytes(meta)),
      });
      const unsigned = await entry("evil-unsigned");
      const byOther = await signed(await entry("evil-other-key"), otherOperator);
      const future = await signed(await entry("evil-future", Date.parse("2100-01-01")));
      // A real signature over other settings: the relay altered what the operator signed.
      const tampered = { ...(await signed(await entry("evil-tampered"))), vars: { X: "1" } };
      const badBundle = await signed(await entry("evil-bundle"));
      const forged = [unsigned, byOther, future, tampered, badBundle];
      // The rogue offers its forged entries both ways a catalogue travels: announced on the
      // topic, and served to any peer that walks its catalogue (its gossiped digest differs from
      // theirs); and it serves other code for the hash.
      const catalog = enc.encode(JSON.stringify(forged));
      const tree = createDigestTree();
      for (const m of forged) await tree.put(m);
      const rogueSide = {
        tree,
        entry: (n: string) => forged.find((m) => m.name === n),
        offers: () => true,
        freshness: () => "fresh" as const,
        merge: () => Promise.resolve(false),
      };
      await r.handle("/virgo/catalog/2.0.0", async (req) =>
        enc.encode(JSON.stringify(
          await answerWalk(rogueSide, WalkRequestSchema.parse(JSON.parse(dec.decode(req)))),
        )));
      await r.handle("/virgo/bundle/1.0.0", () => Promise.resolve(enc.encode("export default 1")));

      await t.step("forged entries are dropped by every peer and logged at warn", async () => {
        for (const p of [a, b]) {
          await waitFor(
            `${p.peerId} to drop every forgery`,
            async () => {
              await r.publish("virgo/catalog/1", catalog);
              return ["evil-unsigned", "evil-other-key", "evil-tampered"].every((n) =>
                warned(p, n, "without a valid operator signature")
              ) && warned(p, "evil-future", "stamped in the future");
            },
            30_000,
            250,
          );
        }
        for (const p of [a, b]) {
          const res = await fetch(`${p.url}/v1/functions`);
          const names = (await res.json()).functions.map((f: { name: string }) => f.name);
          for (const n of ["evil-unsigned", "evil-other-key", "evil-future", "evil-tampered"]) {
            assert.ok(!names.includes(n), `${p.peerId} kept ${n}`);
          }
          const call = await fetch(`${p.url}/fn/evil-future`);
          assert.equal(call.status, 404);
          await call.body?.cancel();
        }
      });

      await t.step("a bundle that does not match its signed hash never runs", async () => {
        // The operator's entry for evil-bundle is real; its only source of code is the rogue.
        await waitFor("a to list the entry", async () => {
          const res = await fetch(`${a.url}/v1/functions/evil-bundle`);
          await res.body?.cancel();
          return res.status === 200;
        });
        const res = await fetch(`${a.url}/fn/evil-bundle`, {
          headers: { "x-virgo-route": "local" },
        });
        assert.equal(res.status, 503);
        assert.doesNotMatch(await res.text(), /pwned/);
        assert.ok(warned(a, "failed its hash check"));
      });

      await t.step("a KV write from a connection that is not a member is refused", async () => {
        // A libp2p node with the swarm key that never joins (no SWIM sync): connected, not a member.
        const node = await createNode({
          privateKey: await loadOrCreatePeerKey(`${dir}/stranger`),
          listen: ["/ip4/127.0.0.1/tcp/0"],
          mdns: false,
          swarmKey: await Deno.readFile(`${keys}/swarm.key`),
        });
        await node.start();
        try {
          const stream = await node.dialProtocol(multiaddr(a.p2p), "/virgo/kv/1.0.0");
          await writeFrame(stream, [encodeMessage({ t: "write", k: "victim" }, enc.encode("x"))]);
          const reply = await new FrameReader(stream).next(1 << 20);
          assert.ok(reply !== null);
          assert.equal(reply[0], 1, "the write was not refused");
          const err = JSON.parse(new TextDecoder().decode(reply.subarray(1)));
          assert.equal(err.code, "NOT_MEMBER");
          await stream.close().catch(() => {});
        } finally {
          await node.stop();
        }
        const res = await fetch(`${a.url}/v1/kv/victim`);
        assert.equal(res.status, 404);
        await res.body?.cancel();
        assert.ok(warned(a, "not a mesh member"));
      });
    } finally {
      await rogue?.stop();
      await stopAll(peers);
      await Deno.remove(dir, { recursive: true });
    }
  },
);
