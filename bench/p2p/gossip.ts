/**
 * Load-gossip cost: start N in-process peers (all joining the first), let
 * them gossip for S seconds, and report load-topic payload bytes published
 * and received per peer per second. Payload only: gossipsub's signature,
 * protobuf framing and control messages (IHAVE/IWANT/GRAFT) come on top.
 *
 *   deno run -A bench/p2p/gossip.ts [--nodes 3,10,30] [--seconds 10]
 *
 * @module
 */
import { startNode, waitFor } from "../../p2p/_testing.ts";
import type { MeshInternals } from "../../p2p/mesh.ts";

const arg = (name: string, def: string) => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] ?? def : def;
};
const nodeCounts = arg("--nodes", "3,10,30").split(",").map(Number);
const seconds = Number(arg("--seconds", "10"));

/** Gossip bytes per peer per second for a mesh of `n` in-process peers. */
export async function measureGossip(n: number, secs: number) {
  const tmp = await Deno.makeTempDir({ prefix: "virgo-bench-p2p-" });
  const first = await startNode({ dataDir: `${tmp}/0` });
  const nodes: MeshInternals[] = [first];
  for (let i = 1; i < n; i++) nodes.push(await startNode({ dataDir: `${tmp}/${i}`, join: first.addrs() }));
  const t0 = Date.now();
  let convergedMs: number | null = null;
  try {
    await waitFor(() => nodes.every((x) => x.peers().length === n), 30_000, "full view");
    convergedMs = Date.now() - t0;
  } catch {
    // Report what the views reached instead of failing the whole run.
  }
  const before = nodes.map((x) => ({ ...x.gossipStats() }));
  await new Promise((r) => setTimeout(r, secs * 1000));
  const after = nodes.map((x) => ({ ...x.gossipStats() }));
  let pub = 0;
  let recv = 0;
  let msgs = 0;
  after.forEach((s, i) => {
    pub += s.publishedBytes - before[i]!.publishedBytes;
    recv += s.receivedBytes - before[i]!.receivedBytes;
    msgs += s.received - before[i]!.received;
  });
  const sizes = nodes.map((x) => x.peers().length);
  const complete = sizes.every((k) => k === n);
  for (const x of nodes) await x.stop();
  await Deno.remove(tmp, { recursive: true });
  return {
    nodes: n,
    convergedMs,
    viewsCompleteAtEnd: complete,
    smallestViewAtEnd: Math.min(...sizes),
    publishedBytesPerPeerPerSec: Math.round(pub / n / secs),
    receivedBytesPerPeerPerSec: Math.round(recv / n / secs),
    receivedMsgsPerPeerPerSec: Number((msgs / n / secs).toFixed(1)),
  };
}

if (import.meta.main) {
  for (const n of nodeCounts) console.log(JSON.stringify(await measureGossip(n, seconds)));
  Deno.exit(0);
}
