/**
 * Bench: raw `level` put/get vs the `Store` interface vs the replicated pool
 * (3 in-process pools on the in-memory transport, with memory and LevelDB
 * stores). Prints one JSON object. Run: `deno run -A bench/kv/store.ts [ops]`.
 *
 * @module
 */
import { Level } from "level";
import { startCluster } from "../../kv/_testing.ts";
import { openDatabase, openMemoryDatabase } from "../../kv/mod.ts";
import { createPool, type Pool } from "../../kv/pool.ts";
import { MemoryNetwork } from "../../kv/_testing.ts";
import { silentLogger } from "../../kv/logger.ts";

const OPS = Number(Deno.args[0] ?? 20_000);
const value = new Uint8Array(100).fill(7);

async function timed(n: number, op: (i: number) => Promise<unknown>) {
  const lat = new Float64Array(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await op(i);
    lat[i] = performance.now() - s;
  }
  const total = performance.now() - t0;
  lat.sort();
  const q = (p: number) => Number(lat[Math.min(n - 1, Math.floor(n * p))]!.toFixed(4));
  return { opsPerSec: Math.round(n / (total / 1000)), p50Ms: q(0.5), p99Ms: q(0.99) };
}

const dir = await Deno.makeTempDir({ prefix: "virgo-bench-kv-" });
const results: Record<string, unknown> = { ops: OPS, valueBytes: value.length };

// 1. Raw level.
const raw = new Level<string, Uint8Array>(`${dir}/raw`, {
  keyEncoding: "utf8",
  valueEncoding: "view",
});
await raw.open();
results.levelPut = await timed(OPS, (i) => raw.put(`k${i}`, value));
results.levelGet = await timed(OPS, (i) => raw.get(`k${i}`));
await raw.close();

// 2. The Store interface over LevelDB, and the in-memory one.
const db = await openDatabase(`${dir}/store`);
const store = db.store("bench");
results.storePut = await timed(OPS, (i) => store.put(`k${i}`, value));
results.storeGet = await timed(OPS, (i) => store.get(`k${i}`));
await db.close();
const mem = openMemoryDatabase().store("bench");
results.memoryStorePut = await timed(OPS, (i) => mem.put(`k${i}`, value));

// 3. The pool: 3 peers in one process, in-memory transport.
const poolOps = Math.min(OPS, 10_000);
const c = await startCluster(3);
const p = c.pools[0]!;
results.poolPutMemory = await timed(poolOps, (i) => p.put(`k${i}`, value));
results.poolGetMemory = await timed(poolOps, (i) => p.get(`k${i}`));
results.poolCasMemory = await (async () => {
  let v = (await p.put("cas", value)).version;
  return timed(poolOps, async () => v = (await p.put("cas", value, { ifMatch: v })).version);
})();
await c.stop();

// Same on LevelDB stores.
const net = new MemoryNetwork();
const pools: Pool[] = [];
const dbs = [];
for (const id of ["a", "b", "c"]) {
  const d = await openDatabase(`${dir}/pool-${id}`);
  dbs.push(d);
  const pool = createPool({
    db: d,
    transport: net.transport(id),
    replicas: 3,
    poolBytes: 1 << 20,
    logger: silentLogger,
  });
  await pool.start();
  pools.push(pool);
}
results.poolPutLevel = await timed(poolOps, (i) => pools[0]!.put(`k${i}`, value));
results.poolGetLevel = await timed(poolOps, (i) => pools[0]!.get(`k${i}`));
for (const pool of pools) await pool.stop();
for (const d of dbs) await d.close();
await Deno.remove(dir, { recursive: true });

console.log(JSON.stringify(results, null, 2));
