/**
 * Part 2 — the mesh.
 *
 * - Remote hop: `/fn/hello` on peer A pinned `local` vs pinned to peer B
 *   (`x-virgo-route: <B>`), under wrk at -c1 and -c50, alternating rounds.
 * - Stream per call vs pooled streams: `bench/p2p/rpc.ts` (two in-process nodes).
 * - Load balancing under skew: 4 peers, one pinned to CPU 1 with CPU hogs;
 *   the same closed-loop stream of `GET /fn/fib?n=22` to A with
 *   `x-virgo-route: random`, `least-loaded`, `p2c`; p50/p99 and per-peer counts.
 * - Idle cost: RSS and TCP bytes/s per real peer process at 3, 10, 30 peers
 *   (membership at 50 peers, CPU and SWIM bytes: `bench/mesh_scale.ts`).
 *
 * Run alone: deno run -A bench/mesh.ts [--quick]
 * @module
 */
import { spread } from "./_balls.ts";
import { closedLoop } from "./_client.ts";
import {
  deploy,
  installSignalHandlers,
  type PeerProcess,
  spawn,
  startMesh,
  startPeer,
  stopAll,
  stopEverything,
  type Tracked,
  viewOf,
  waitFor,
} from "../test/_harness.ts";
import { runJsonScript } from "./_scripts.ts";
import { versus } from "./_wrk.ts";
import { f, type Headline, log, type PartOptions, type PartResult, r, rssMb, sleep, step, tcpBytesByPid, tcpDelta, writeResult } from "./_util.ts";

const ROUTE = "x-virgo-route";

/** Waits until `peer` answers `GET path` with 200 (e.g. a function deployed elsewhere has arrived). */
async function waitOk(peer: PeerProcess, path: string, headers: Record<string, string> = {}, timeoutMs = 20_000) {
  await waitFor(`${peer.url}${path}`, async () => {
    const res = await fetch(`${peer.url}${path}`, { headers });
    await res.body?.cancel();
    return res.ok;
  }, timeoutMs, 100);
}

/** A CPU hog (`sh` busy loop) pinned to `cpu`. */
function startHog(cpu: number): Tracked {
  return spawn("taskset", ["-c", String(cpu), "sh", "-c", "while :; do :; done"], { label: "hog" }).tracked;
}

async function remoteHop(opts: PartOptions, data: Record<string, unknown>, headlines: Headline[]) {
  const seconds = opts.quick ? 2 : 5;
  const rounds = opts.quick ? 1 : 2;
  const [a, b] = await startMesh(2, { spares: 1 });
  try {
    await deploy(a!, "hello", "hello");
    await waitOk(a!, "/fn/hello", { [ROUTE]: b!.peerId });
    await waitOk(a!, "/fn/hello", { [ROUTE]: "local" });
    const hop: Record<string, unknown> = { a: a!.peerId, b: b!.peerId, seconds, rounds };
    data.remote_hop = hop;
    for (const c of [1, 50]) {
      const v = await step(hop, `c${c}`, () =>
        versus(
          { url: `${a!.url}/fn/hello`, headers: { [ROUTE]: "local" } },
          { url: `${a!.url}/fn/hello`, headers: { [ROUTE]: b!.peerId } },
          { connections: c, seconds, rounds },
        ));
      if (!v) continue;
      headlines.push({
        part: "mesh",
        metric: `remote hop req/s, c${c} (local = baseline)`,
        virgo: f(v.subject.reqPerSec),
        baseline: f(v.base.reqPerSec),
        ratio: f(v.reqPerSecRatio),
        target: "≥ 0.50",
        ok: (v.reqPerSecRatio ?? 0) >= 0.5,
      });
      headlines.push({
        part: "mesh",
        metric: `remote hop p50 (p99), c${c}`,
        virgo: `${f(v.subject.p50ms, "ms", 3)} (${f(v.subject.p99ms, "", 2)})`,
        baseline: `${f(v.base.p50ms, "ms", 3)} (${f(v.base.p99ms, "", 2)})`,
        ratio: `+${f(v.p50AddedMs, "ms", 3)} (+${f(v.p99AddedMs, "", 2)})`,
        target: c === 1 ? "p50 ≤ +0.3 ms" : "",
        ok: c === 1 ? (v.p50AddedMs ?? Infinity) <= 0.3 : undefined,
      });
    }
  } finally {
    await stopAll([a!, b!]);
  }
}

async function rpcMicro(opts: PartOptions, data: Record<string, unknown>, headlines: Headline[]) {
  const out = await step(data, "rpc_micro", () =>
    runJsonScript("bench/p2p/rpc.ts", opts.quick ? ["--calls", "1500"] : ["--calls", "4000"], 180_000)) as
    | { request?: Record<string, { p50Ms: number; p99Ms: number; callsPerSec: number }>; invokeHopP50Ms?: number }
    | undefined;
  const q = out?.request;
  if (q?.streamPerCall_c1 && q.pooled_c1) {
    headlines.push({
      part: "mesh",
      metric: "request/response p50, c1: pooled (stream per call)",
      virgo: f(q.pooled_c1.p50Ms, "ms", 3),
      baseline: f(q.streamPerCall_c1.p50Ms, "ms", 3),
      ratio: `${f(q.pooled_c1.callsPerSec / q.streamPerCall_c1.callsPerSec, "×", 1)} calls/s`,
      target: "",
    });
  }
  if (q?.streamPerCall_c32 && q.pooled_c32) {
    headlines.push({
      part: "mesh",
      metric: "request/response calls/s, c32: pooled (stream per call)",
      virgo: f(q.pooled_c32.callsPerSec),
      baseline: f(q.streamPerCall_c32.callsPerSec),
      ratio: f(q.pooled_c32.callsPerSec / q.streamPerCall_c32.callsPerSec, "×", 1),
      target: "",
    });
  }
}

async function loadBalancing(opts: PartOptions, data: Record<string, unknown>, headlines: Headline[]) {
  const seconds = opts.quick ? 4 : 8;
  const concurrency = 8;
  const n = 22;
  const lb: Record<string, unknown> = { peers: 4, concurrency, seconds, fibN: n };
  data.load_balancing = lb;
  const peers: PeerProcess[] = [];
  const hogs: Tracked[] = [];
  try {
    const a = await startPeer({ spares: 0 });
    peers.push(a);
    const others = await Promise.all([
      startPeer({ spares: 0, join: [a.p2p] }),
      startPeer({ spares: 0, join: [a.p2p] }),
      // The slow peer: it and its sandboxes (children inherit mask and niceness) run on CPU 1 only, at
      // nice 10, beside a busy loop at nice 0 there: it gets roughly a tenth of one core.
      startPeer({ spares: 0, join: [a.p2p], wrap: ["taskset", "-c", "1", "nice", "-n", "10"] }),
    ]);
    peers.push(...others);
    const slow = others[2]!;
    lb.entry = a.peerId;
    lb.slow = slow.peerId;
    lb.skew = "slow peer (and its sandbox) pinned to CPU 1 with taskset at nice 10, one `sh` busy loop at nice 0 " +
      "pinned to CPU 1 too (≈ 1/10 of a core left for the slow peer); the other peers unpinned";
    await Promise.all(peers.map((p) => waitFor("4 peers in view", async () => (await viewOf(p)).length === 4, 30_000, 100)));
    await deploy(a, "fib", "fib");
    for (const p of peers) {
      await waitOk(a, "/fn/fib?n=1", { [ROUTE]: p.peerId });
      // Warm each peer's fib process (JIT) before the skew starts.
      for (let i = 0; i < 30; i++) await (await fetch(`${a.url}/fn/fib?n=${n}`, { headers: { [ROUTE]: p.peerId } })).text();
    }
    hogs.push(startHog(1));
    await sleep(1_000);
    const runs: Record<string, Awaited<ReturnType<typeof closedLoop>>> = {};
    lb.runs = runs;
    const label = (id: string) => id === slow.peerId ? "slow" : id === a.peerId ? "A(entry)" : `peer…${id.slice(-4)}`;
    for (const strategy of ["random", "least-loaded", "p2c"]) {
      const res = await step(lb, `run_${strategy}`, () =>
        closedLoop(`${a.url}/fn/fib?n=${n}`, { concurrency, seconds, headers: { [ROUTE]: strategy } }));
      if (res) {
        // Relabel peers so the JSON shows which one was slow.
        const named: typeof res.perPeer = {};
        for (const [id, v] of Object.entries(res.perPeer)) named[`${label(id)} ${id}`] = v;
        res.perPeer = named;
        runs[strategy] = res;
      }
      await sleep(1_000); // let the loads report the backlog drained
    }
    const rnd = runs.random;
    if (rnd) {
      const counts = peers.map((p) => Object.entries(rnd.perPeer).find(([k]) => k.endsWith(p.peerId))?.[1].calls ?? 0);
      lb.random_spread = spread(counts);
    }
    const p2c = runs.p2c;
    if (rnd && p2c) {
      const ratio = (p2c.latency.p99ms ?? Infinity) / (rnd.latency.p99ms ?? NaN);
      lb.p2c_p99_over_random = r(ratio);
      const slowShare = (run?: typeof rnd) =>
        f(Object.entries(run?.perPeer ?? {}).find(([k]) => k.startsWith("slow"))?.[1].share, "", 2);
      headlines.push({
        part: "mesh",
        metric: `fib(${n}) under skew, p99: p2c (random); least-loaded`,
        virgo: `${f(p2c.latency.p99ms, "ms", 1)}`,
        baseline: `${f(rnd.latency.p99ms, "ms", 1)}`,
        ratio: `${f(ratio)}; ll ${f(runs["least-loaded"]?.latency.p99ms, "ms", 1)}`,
        target: "p2c ≤ 0.5 × random",
        ok: ratio <= 0.5,
      });
      headlines.push({
        part: "mesh",
        metric: "share of calls on the slow peer: p2c (random); least-loaded",
        virgo: slowShare(p2c),
        baseline: slowShare(rnd),
        ratio: `ll ${slowShare(runs["least-loaded"])}`,
        target: "",
      });
      headlines.push({
        part: "mesh",
        metric: "calls/s under skew: p2c (random); least-loaded",
        virgo: f(p2c.callsPerSec),
        baseline: f(rnd.callsPerSec),
        ratio: `${f(p2c.callsPerSec / rnd.callsPerSec)}; ll ${f(runs["least-loaded"]?.callsPerSec)}`,
        target: "",
      });
    }
    const sp = lb.random_spread as ReturnType<typeof spread> | undefined;
    if (sp) {
      headlines.push({
        part: "mesh",
        metric: `random spread over 4 peers (${sp.requests} calls)`,
        virgo: sp.counts.join(" / "),
        baseline: `k/N = ${sp.expectedPerNode} ± ${sp.binomialSd}`,
        ratio: `max |z| ${sp.maxAbsZ}, χ² p=${sp.chiSquareP}`,
        target: `seed formula: ${sp.seedFormula.value}`,
      });
    }
  } finally {
    await Promise.all(hogs.map((h) => h.stop(500)));
    await stopAll(peers);
  }
}

function summarizeViews(v: number[]) {
  const s = [...v].sort((a, b) => a - b);
  return { min: s[0] ?? 0, median: s[s.length >> 1] ?? 0, max: s[s.length - 1] ?? 0 };
}

/**
 * Starts `n` idle peers joining the first and waits up to `timeoutMs` for full
 * views; unlike `startMesh`, a mesh that does not converge is kept (and
 * measured), with its view sizes recorded.
 */
async function startMeshPartial(n: number, timeoutMs: number) {
  const opts = { spares: 0, maxLogs: 50, timeoutMs: 180_000 };
  const first = await startPeer(opts);
  const rest = await Promise.allSettled(
    Array.from({ length: n - 1 }, () => startPeer({ ...opts, join: [first.p2p] })),
  );
  const peers = [first, ...rest.flatMap((x) => x.status === "fulfilled" ? [x.value] : [])];
  const sizes = () => Promise.all(peers.map((p) => viewOf(p).then((v) => v.length).catch(() => 0)));
  let views: number[] = [];
  const converged = await waitFor("full views", async () => (views = await sizes()).every((v) => v === n), timeoutMs, 250)
    .then(() => true, () => false);
  return { peers, converged, views };
}

async function idleCost(opts: PartOptions, data: Record<string, unknown>, headlines: Headline[]) {
  const sizes = opts.quick ? [3, 10] : [3, 10, 30];
  const window = opts.quick ? 3 : 5;
  const idle: Record<string, unknown> = {
    note: "Real `virgo start` processes with --spares 0 (each spare sandbox would add its own process, see http.json); " +
      "RSS is the peer process's VmRSS; bytes/s are TCP payload bytes of the peer's established sockets " +
      "(ss -tinp bytes_sent/bytes_received) over the window — on an idle peer that is SWIM (pings, acks, piggybacked " +
      "updates and loads), gossipsub heartbeats and keep-alive traffic, with noise + yamux framing, without IP/TCP headers.",
    windowSeconds: window,
  };
  data.idle = idle;
  for (const n of sizes) {
    await step(idle, `peers_${n}`, async () => {
      const t0 = performance.now();
      const { peers, converged, views: viewsAtStart } = await startMeshPartial(n, n >= 30 ? 45_000 : 30_000);
      const startS = r((performance.now() - t0) / 1000, 1);
      try {
        await sleep(2_000);
        const before = await tcpBytesByPid();
        await sleep(window * 1000);
        const after = await tcpBytesByPid();
        const rss = (await Promise.all(peers.map((p) => rssMb(p.pid)))).filter((x): x is number => x !== undefined);
        const w: number[] = [];
        const rd: number[] = [];
        const sockets: number[] = [];
        for (const p of peers) {
          const x = after.get(p.pid);
          const b = before.get(p.pid);
          if (x && b) {
            const d = tcpDelta(b, x);
            w.push(d.sent / window);
            rd.push(d.recv / window);
            sockets.push(x.sockets);
          }
        }
        const mean = (xs: number[]) => xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : NaN;
        const views = await Promise.all(peers.map((p) => viewOf(p).then((v) => v.length).catch(() => 0)));
        return {
          peers: n,
          started: peers.length,
          startAndConvergeSeconds: startS,
          converged,
          viewSizesAtStart: summarizeViews(viewsAtStart),
          viewSizesAtEnd: summarizeViews(views),
          viewsCompleteAtEnd: views.every((v) => v === n),
          rssMbMean: r(mean(rss), 1),
          rssMbMax: r(Math.max(...rss), 1),
          rssMbTotal: r(rss.reduce((s, v) => s + v, 0), 0),
          tcpSentBytesPerPeerPerSec: Math.round(mean(w)),
          tcpReceivedBytesPerPeerPerSec: Math.round(mean(rd)),
          tcpSocketsPerPeer: r(mean(sockets), 1),
        };
      } finally {
        await stopAll(peers);
      }
    });
  }
  for (const n of sizes) {
    const real = idle[`peers_${n}`] as
      | { rssMbMean: number; tcpSentBytesPerPeerPerSec: number; converged: boolean; viewSizesAtEnd: { min: number; max: number } }
      | undefined;
    if (!real?.rssMbMean) continue;
    headlines.push({
      part: "mesh",
      metric: `idle, ${n} peers: RSS/peer; TCP bytes sent/s/peer${
        real?.rssMbMean && !real.converged ? ` (views did not converge: ${real.viewSizesAtEnd.min}–${real.viewSizesAtEnd.max})` : ""
      }`,
      virgo: real?.rssMbMean ? `${f(real.rssMbMean, "MB", 1)}; ${f(real.tcpSentBytesPerPeerPerSec / 1024, "KB/s", 1)}` : "—",
      baseline: "",
      ratio: "",
      target: "",
    });
  }
}

/** Runs part 2. */
export async function run(opts: PartOptions): Promise<PartResult> {
  const data: Record<string, unknown> = {};
  const headlines: Headline[] = [];
  for (const [key, fn] of [
    ["remote_hop_setup", remoteHop],
    ["rpc", rpcMicro],
    ["load_balancing_setup", loadBalancing],
    ["idle_setup", idleCost],
  ] as const) {
    try {
      await fn(opts, data, headlines);
    } catch (err) {
      await step(data, key, () => Promise.reject(err));
    } finally {
      await stopEverything({ graceMs: 3_000 });
    }
  }
  await writeResult("mesh", data);
  log("  wrote bench/results/mesh.json");
  return { name: "mesh", data, headlines };
}

if (import.meta.main) {
  installSignalHandlers();
  const res = await run({ quick: Deno.args.includes("--quick") });
  console.log(JSON.stringify(res.headlines, null, 2));
  Deno.exit(0);
}
