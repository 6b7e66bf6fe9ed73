/**
 * Part 3 — the key-value pool.
 *
 * - Local floor: raw LevelDB (`level` directly) vs the kv `Store` interface,
 *   awaited put/get of 100-byte values, in this process; plus the kv team's
 *   `bench/kv/store.ts` (in-process pools on the in-memory transport).
 * - Quorum over 3 real peer processes: a sequential JS client doing
 *   PUT/GET /v1/kv/:key, against the same client doing PUT/GET on bare hono
 *   over one local LevelDB (`_baseline.ts --level`), so HTTP cost cancels.
 * - `GET /v1/kv/:key?consistency=eventual|strong` under wrk -c50 vs bare hono + a local
 *   LevelDB get (targets: eventual ≥ 0.5, strong ≥ 0.2 of it).
 * - Takeover: write N keys (100k; 10k with --quick), start a 4th peer, and
 *   time until the old peers finish their rebalance passes and the new
 *   peer's LevelDB stops growing.
 *
 * Run alone: deno run -A bench/kv_http.ts [--quick]
 * @module
 */
import { Level } from "level";
import { openDatabase } from "../kv/mod.ts";
import {
  installSignalHandlers,
  type PeerProcess,
  startMesh,
  startPeer,
  stopAll,
  stopEverything,
  viewOf,
} from "../test/_harness.ts";
import { startBaseline } from "./_baseline.ts";
import { runJsonScript } from "./_scripts.ts";
import { versus } from "./_wrk.ts";
import {
  dirBytes,
  f,
  type Headline,
  log,
  type PartOptions,
  type PartResult,
  r,
  sleep,
  step,
  summary,
  writeResult,
} from "./_util.ts";

const VALUE: Uint8Array<ArrayBuffer> = new Uint8Array(100).fill(7);

async function timed(n: number, op: (i: number) => Promise<unknown>) {
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await op(i);
    lat.push(performance.now() - s);
  }
  const total = (performance.now() - t0) / 1000;
  return { ops: n, opsPerSec: Math.round(n / total), ...summary(lat) };
}

async function localFloor(ops: number) {
  const dir = await Deno.makeTempDir({ prefix: "virgo-bench-level-" });
  try {
    const raw = new Level<string, Uint8Array>(`${dir}/raw`, {
      keyEncoding: "utf8",
      valueEncoding: "view",
    });
    await raw.open();
    const levelPut = await timed(ops, (i) => raw.put(`k${i}`, VALUE));
    const levelGet = await timed(ops, (i) => raw.get(`k${i}`));
    await raw.close();
    const db = await openDatabase(`${dir}/store`);
    const store = db.store("bench");
    const storePut = await timed(ops, (i) => store.put(`k${i}`, VALUE));
    const storeGet = await timed(ops, (i) => store.get(`k${i}`));
    await db.close();
    return {
      valueBytes: VALUE.length,
      levelPut,
      levelGet,
      storePut,
      storeGet,
      storeOverLevel: {
        put: r(storePut.opsPerSec / levelPut.opsPerSec),
        get: r(storeGet.opsPerSec / levelGet.opsPerSec),
      },
    };
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function httpPut(url: string, body: Uint8Array<ArrayBuffer>): Promise<void> {
  const res = await fetch(url, { method: "PUT", body });
  const text = await res.text();
  if (!res.ok) throw new Error(`PUT ${url}: ${res.status} ${text.slice(0, 200)}`);
}
async function httpGet(url: string): Promise<void> {
  const res = await fetch(url);
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
}

/** Writes `count` keys through the peers' HTTP API, `concurrency` in flight, round robin over peers. */
async function bulkWrite(peers: PeerProcess[], prefix: string, count: number, concurrency: number) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const p = peers[(i + w) % peers.length]!;
      await httpPut(`${p.url}/v1/kv/${prefix}${i}`, VALUE);
    }
  }));
  const s = (performance.now() - t0) / 1000;
  return { keys: count, seconds: r(s, 1), keysPerSec: Math.round(count / s) };
}

interface PassLog {
  at: number;
  moved: number;
  dropped: number;
  members: number;
}

function passesAfter(p: PeerProcess, t: number): PassLog[] {
  const out: PassLog[] = [];
  for (const [i, line] of p.logs.entries()) {
    const at = p.logTimes[i]!;
    if (at < t || !line.includes("rebalance pass done")) continue;
    try {
      const j = JSON.parse(line) as { moved?: number; dropped?: number; members?: number };
      out.push({ at, moved: j.moved ?? 0, dropped: j.dropped ?? 0, members: j.members ?? 0 });
    } catch { /* not JSON */ }
  }
  return out;
}

async function takeover(mesh: PeerProcess[], keys: number, timeoutMs: number) {
  const write = await bulkWrite(mesh, "t/", keys, 64);
  await sleep(1_000);
  const oldBytes = await Promise.all(mesh.map((p) => dirBytes(`${p.data}/db`)));
  const d = await startPeer({ spares: 0, join: [mesh[0]!.p2p] });
  mesh.push(d); // stopped with the rest
  const tJoin = Date.now();
  let last = await dirBytes(`${d.data}/db`);
  let lastChange = Date.now();
  let viewAt: number | undefined;
  const deadline = Date.now() + timeoutMs;
  let done = false;
  while (Date.now() < deadline) {
    await sleep(100);
    if (viewAt === undefined && (await viewOf(mesh[0]!).catch(() => [])).length === 4) {
      viewAt = Date.now();
    }
    const now = await dirBytes(`${d.data}/db`);
    if (now !== last) {
      last = now;
      lastChange = Date.now();
    }
    const everyOldPassed = mesh.slice(0, 3).every((p) =>
      passesAfter(p, tJoin).some((x) => x.members === 4)
    );
    if (everyOldPassed && Date.now() - lastChange > 2_000) {
      done = true;
      break;
    }
  }
  const passes = mesh.slice(0, 3).map((p) => passesAfter(p, tJoin));
  const lastPass = Math.max(0, ...passes.flat().map((x) => x.at));
  const end = Math.max(lastPass, lastChange);
  return {
    keys,
    replicas: 3,
    write,
    oldPeerDbBytes: oldBytes,
    complete: done,
    joinToViewMs: viewAt ? viewAt - tJoin : null,
    takeoverSeconds: r((end - tJoin) / 1000, 2),
    lastRebalancePassSeconds: lastPass ? r((lastPass - tJoin) / 1000, 2) : null,
    newPeerDbStableAfterSeconds: r((lastChange - tJoin) / 1000, 2),
    newPeerDbBytes: last,
    newPeerDbOverOldMean: r(last / (oldBytes.reduce((a, b) => a + b, 0) / oldBytes.length)),
    expectedShare: 0.75,
    movedByOldPeers: passes.map((ps) => ps.reduce((a, x) => a + x.moved, 0)),
    droppedByOldPeers: passes.map((ps) => ps.reduce((a, x) => a + x.dropped, 0)),
    passes,
    method:
      "GET /v1/status exposes no key count, so: the time from the 4th peer's `Ready` until every old peer has " +
      "logged `rebalance pass done` with 4 members and the new peer's LevelDB folder has stopped growing for 2 s. " +
      "With 3 replicas on 4 peers the new peer should own 3/4 of the keys and each old peer should drop 1/4 " +
      "(droppedByOldPeers, from their logs); newPeerDbOverOldMean compares LevelDB folder sizes (before compaction, " +
      "so only indicative). movedByOldPeers counts record copies each old peer sent.",
  };
}

/** Runs part 3. */
export async function run(opts: PartOptions): Promise<PartResult> {
  const data: Record<string, unknown> = {};
  const headlines: Headline[] = [];
  const ops = opts.quick ? 5_000 : 20_000;
  const httpOps = opts.quick ? 500 : 2_000;
  const seconds = opts.quick ? 2 : 5;
  const rounds = opts.quick ? 1 : 2;
  const keys = opts.quick ? 10_000 : 100_000;
  data.config = {
    ops,
    httpOps,
    wrkSeconds: seconds,
    rounds,
    takeoverKeys: keys,
    valueBytes: VALUE.length,
  };

  const floor = await step(data, "local_floor", () => localFloor(ops)) as
    | Awaited<ReturnType<typeof localFloor>>
    | undefined;
  await step(
    data,
    "kv_micro",
    () => runJsonScript("bench/kv/store.ts", [String(opts.quick ? 2_000 : 10_000)], 180_000),
  );

  const levelDir = await Deno.makeTempDir({ prefix: "virgo-bench-blevel-" });
  let mesh: PeerProcess[] = [];
  try {
    const base = await startBaseline({ levelDir });
    mesh = await startMesh(3, { spares: 0 });
    const a = mesh[0]!;
    // Sequential quorum writes and reads through peer A's HTTP API, vs the same client on bare hono + LevelDB.
    const seq = await step(data, "sequential_http", async () => {
      await timed(200, (i) => httpPut(`${a.url}/v1/kv/warm/${i}`, VALUE));
      await timed(200, (i) => httpPut(`${base.url}/kv/warm/${i}`, VALUE));
      return {
        note:
          "one JS client, one request at a time; bare = hono + one local LevelDB, no replication",
        quorumPut: await timed(httpOps, (i) => httpPut(`${a.url}/v1/kv/q/${i}`, VALUE)),
        barePut: await timed(httpOps, (i) => httpPut(`${base.url}/kv/q/${i}`, VALUE)),
        quorumGet: await timed(httpOps, (i) => httpGet(`${a.url}/v1/kv/q/${i}`)),
        eventualGet: await timed(
          httpOps,
          (i) => httpGet(`${a.url}/v1/kv/q/${i}?consistency=eventual`),
        ),
        bareGet: await timed(httpOps, (i) => httpGet(`${base.url}/kv/q/${i}`)),
        bareHello: await timed(httpOps, () => httpGet(`${base.url}/`)),
      };
    });
    if (floor) {
      headlines.push({
        part: "kv",
        metric: "put ops/s: Store (raw level)",
        virgo: f(floor.storePut.opsPerSec),
        baseline: f(floor.levelPut.opsPerSec),
        ratio: f(floor.storeOverLevel.put),
        target: "",
      });
      headlines.push({
        part: "kv",
        metric: "get ops/s: Store (raw level)",
        virgo: f(floor.storeGet.opsPerSec),
        baseline: f(floor.levelGet.opsPerSec),
        ratio: f(floor.storeOverLevel.get),
        target: "",
      });
    }
    if (seq) {
      const added = (seq.quorumPut.p50ms ?? NaN) - (seq.barePut.p50ms ?? NaN);
      headlines.push({
        part: "kv",
        metric: "quorum PUT p50 (p99), 3 peers, HTTP; baseline bare hono+LevelDB PUT",
        virgo: `${f(seq.quorumPut.p50ms, "ms", 3)} (${f(seq.quorumPut.p99ms, "", 2)})`,
        baseline: `${f(seq.barePut.p50ms, "ms", 3)} (${f(seq.barePut.p99ms, "", 2)})`,
        ratio: `+${f(added, "ms", 3)}`,
        target: "≤ 1 ms p50",
        ok: (seq.quorumPut.p50ms ?? Infinity) <= 1,
      });
      headlines.push({
        part: "kv",
        metric: "quorum GET p50 (p99), 3 peers, HTTP; baseline bare hono+LevelDB GET",
        virgo: `${f(seq.quorumGet.p50ms, "ms", 3)} (${f(seq.quorumGet.p99ms, "", 2)})`,
        baseline: `${f(seq.bareGet.p50ms, "ms", 3)} (${f(seq.bareGet.p99ms, "", 2)})`,
        ratio: `+${f((seq.quorumGet.p50ms ?? NaN) - (seq.bareGet.p50ms ?? NaN), "ms", 3)}`,
        target: "",
      });
      headlines.push({
        part: "kv",
        metric: "eventual GET p50 (p99), 3 peers, HTTP; baseline bare hono+LevelDB GET",
        virgo: `${f(seq.eventualGet.p50ms, "ms", 3)} (${f(seq.eventualGet.p99ms, "", 2)})`,
        baseline: `${f(seq.bareGet.p50ms, "ms", 3)} (${f(seq.bareGet.p99ms, "", 2)})`,
        ratio: `+${f((seq.eventualGet.p50ms ?? NaN) - (seq.bareGet.p50ms ?? NaN), "ms", 3)}`,
        target: "",
      });
    }
    // GET /v1/kv/:key under wrk, strong and eventual, each against bare hono + a local LevelDB get.
    await httpPut(`${a.url}/v1/kv/hot`, VALUE);
    await httpPut(`${base.url}/kv/hot`, VALUE);
    const reads = [
      { mode: "eventual", target: 0.5 },
      { mode: "strong", target: 0.2 },
    ] as const;
    for (const { mode, target } of reads) {
      const v = await step(
        data,
        `wrk_get_${mode}_vs_hono_level_c50`,
        () =>
          versus({ url: `${base.url}/kv/hot` }, { url: `${a.url}/v1/kv/hot?consistency=${mode}` }, {
            connections: 50,
            seconds,
            rounds,
          }),
      );
      if (v) {
        headlines.push({
          part: "kv",
          metric:
            `GET /v1/kv/:key?consistency=${mode} req/s, c50 (vs bare hono + local LevelDB get)`,
          virgo: f(v.subject.reqPerSec),
          baseline: f(v.base.reqPerSec),
          ratio: f(v.reqPerSecRatio),
          target: `≥ ${target.toFixed(2)}`,
          ok: (v.reqPerSecRatio ?? 0) >= target,
        });
      }
    }
    await base.stop();
    // A 4th peer takes over its share.
    const t = await step(
      data,
      "takeover",
      () => takeover(mesh, keys, opts.quick ? 60_000 : 150_000),
    ) as
      | Awaited<ReturnType<typeof takeover>>
      | undefined;
    if (t) {
      headlines.push({
        part: "kv",
        metric: `4th peer takes its share of ${keys.toLocaleString("en-US")} keys`,
        virgo: `${f(t.takeoverSeconds, "s", 1)}${t.complete ? "" : " (incomplete)"}`,
        baseline: `writes ${f(t.write.keysPerSec)} keys/s`,
        ratio: `old peers dropped ${
          t.droppedByOldPeers.map((x) => f(x / keys * 100, "%", 1)).join(", ")
        } (exp. 25%)`,
        target: "",
      });
    }
  } catch (err) {
    await step(data, "mesh_setup_failed", () => Promise.reject(err));
  } finally {
    await stopAll(mesh);
    await stopEverything({ graceMs: 3_000 });
    await Deno.remove(levelDir, { recursive: true }).catch(() => {});
  }
  await writeResult("kv", data);
  log("  wrote bench/results/kv.json");
  return { name: "kv", data, headlines };
}

if (import.meta.main) {
  installSignalHandlers();
  const res = await run({ quick: Deno.args.includes("--quick") });
  console.log(JSON.stringify(res.headlines, null, 2));
  Deno.exit(0);
}
