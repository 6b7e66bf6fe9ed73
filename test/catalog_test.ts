/**
 * The catalogue across real peers: 600 functions (past the 512 names a load record once
 * carried) leave every view whole and the pool's replicas intact; and two sides of a partition
 * that both deployed and deleted settle on one catalogue when it heals.
 */
import assert from "node:assert/strict";
import {
  deploySource,
  type PeerProcess,
  startMesh,
  startPeer,
  stopAll,
  viewOf,
  waitFor,
} from "./_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const source = (i: number | string) => `export default { fetch: () => new Response("fn ${i}") };`;

/** Each peer's own catalogue digest and count, as its `/v1/peers` shows itself. */
async function catalogOf(p: PeerProcess): Promise<{ digest: string; count: number }> {
  const view = (await (await fetch(`${p.url}/v1/peers`)).json()).peers as Array<
    { self: boolean; catalog: { digest: string; count: number } }
  >;
  return view.find((v) => v.self)!.catalog;
}

/** Waits until every peer holds the same catalogue of `count` entries; returns its digest. */
async function converged(peers: PeerProcess[], count: number, timeoutMs = 60_000) {
  return await waitFor(
    `${peers.length} peers to hold one catalogue of ${count}`,
    async () => {
      const all = await Promise.all(peers.map(catalogOf));
      const first = all[0]!;
      return all.every((c) => c.digest === first.digest && c.count === count) && first.digest;
    },
    timeoutMs,
    250,
  );
}

async function deployOk(p: PeerProcess, name: string, code = source(name)) {
  const res = await deploySource(p, name, code);
  const body = await res.text();
  assert.equal(res.status, 201, `${name}: ${body}`);
}

async function records(p: PeerProcess): Promise<number> {
  return (await (await fetch(`${p.url}/v1/status`)).json()).pool.records;
}

Deno.test(
  "600 functions: every view stays whole, calls answer everywhere, a KV write reaches its replicas",
  opts,
  async () => {
    const peers = await startMesh(3);
    try {
      const n = 600;
      let next = 0;
      let deployed = 0;
      // Four deploys in flight, round robin over the peers; the views are checked as they go.
      const worker = async () => {
        for (let i = next++; i < n; i = next++) {
          await deployOk(peers[i % 3]!, `f${i}`);
          if (++deployed % 150 === 0) {
            for (const p of peers) assert.equal((await viewOf(p)).length, 3, `after ${deployed}`);
          }
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      await converged(peers, n, 120_000);
      for (const p of peers) assert.equal((await viewOf(p)).length, 3);

      // Any function, on any peer, by any route.
      for (const [k, p] of peers.entries()) {
        for (const i of [0, 299, 513, 599, 100 + k]) {
          const res = await fetch(`${p.url}/fn/f${i}`, { headers: { "x-virgo-route": "random" } });
          assert.equal(await res.text(), `fn f${i}`);
        }
      }

      // The pool still takes all three peers as members: a new key lands on its three replicas.
      const before = await Promise.all(peers.map(records));
      const put = await fetch(`${peers[0]!.url}/v1/kv/after-600`, { method: "PUT", body: "x" });
      assert.equal(put.status, 200);
      await put.body?.cancel();
      await waitFor("the key on every replica", async () => {
        const after = await Promise.all(peers.map(records));
        return after.every((r, i) => r === before[i]! + 1);
      });
    } finally {
      await stopAll(peers);
    }
  },
);

Deno.test(
  "after a partition in which both sides deployed and deleted, the catalogues settle as one",
  opts,
  async () => {
    const cData = await Deno.makeTempDir({ prefix: "virgo-catalog-c-" });
    const [a, b] = await startMesh(2);
    const peers: PeerProcess[] = [a!, b!];
    let c = await startPeer({ data: cData, join: [a!.p2p] });
    try {
      for (const name of ["both", "gone-a", "gone-c", "redeployed"]) await deployOk(a!, name);
      await converged([a!, b!, c], 4);

      // The partition: c away from a and b (stopped, then alone on its own data).
      await c.stop();
      c = await startPeer({ data: cData });
      await deployOk(a!, "new-a");
      await (await fetch(`${b!.url}/v1/functions/gone-a`, { method: "DELETE" })).body?.cancel();
      await deployOk(c, "new-c");
      await (await fetch(`${c.url}/v1/functions/gone-c`, { method: "DELETE" })).body?.cancel();
      // Both sides change one name: the later change wins everywhere.
      await deployOk(a!, "redeployed", source("from a"));
      await deployOk(c, "redeployed", source("from c"));

      // Heal: c comes back to the mesh.
      await c.stop();
      c = await startPeer({ data: cData, join: [a!.p2p] });
      await converged([a!, b!, c], 6); // both, gone-a, gone-c (tombstones), redeployed, new-a, new-c
      for (const p of [a!, b!, c]) {
        const list = (await (await fetch(`${p.url}/v1/functions`)).json()).functions as Array<
          { name: string }
        >;
        assert.deepEqual(list.map((f) => f.name).sort(), ["both", "new-a", "new-c", "redeployed"]);
        const res = await fetch(`${p.url}/fn/redeployed`, {
          headers: { "x-virgo-route": "local" },
        });
        assert.equal(await res.text(), "fn from c", "the later deploy wins");
      }
    } finally {
      await stopAll(peers);
      await c.stop();
      await Deno.remove(cData, { recursive: true }).catch(() => {});
    }
  },
);
