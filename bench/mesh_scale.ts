/**
 * Part `scale` — membership at flat cost, with real processes (issue 10, 4a).
 *
 * Starts N real `virgo start` peers (`--spares 0`, so each is one process), the first alone
 * and the rest in batches of 5 (so 2 cores are not swamped by N Deno starts at once), each
 * joining a random peer already up.
 * Measures the time from the last peer's `Ready at` until every peer lists all N, then
 * keeps the mesh idle for the hold window, checking every view stays complete, and reports
 * per peer: idle CPU (utime + stime from /proc/<pid>/stat over the window, as a share of one
 * core), SWIM bytes and messages sent per second (the mesh's own counters, `GET /v1/status`
 * → `membership.swim`), TCP payload bytes sent per second on its established sockets (`ss`;
 * everything — SWIM, gossipsub, identify, yamux and noise framing — but not the bytes of
 * sockets that closed within the window), and open connections.
 *
 * Baseline (issue 10, the load-flooding mesh before SWIM): at 30 peers each sent ~164 KB/s
 * idle, the mesh took 45–95 s to converge, and 10 idle peers used 42% of a core (4.2% each).
 *
 *   deno run -A bench/mesh_scale.ts [--peers 50] [--hold 120] [--quick]
 * @module
 */
import {
  installSignalHandlers,
  type PeerProcess,
  startPeer,
  stopAll,
  stopEverything,
  viewOf,
} from "../test/_harness.ts";
import {
  f,
  type Headline,
  log,
  type PartOptions,
  type PartResult,
  r,
  sleep,
  step,
  tcpBytesByPid,
  tcpDelta,
  waitFor,
  writeResult,
} from "./_util.ts";

/** Peers started at once: each `virgo start` takes a core for about a second. */
const BATCH = 5;
/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** utime + stime of `pid`, in clock ticks. */
async function cpuTicks(pid: number): Promise<number | undefined> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return Number(fields[11]) + Number(fields[12]);
}

interface SwimCounters {
  sent: number;
  sentBytes: number;
  received: number;
  receivedBytes: number;
  sentByType: Record<string, number>;
}

async function membershipOf(p: PeerProcess): Promise<
  {
    swim: SwimCounters;
    connections: number;
    connectionsOpened: number;
    neighbours: number;
    members: number;
  } | undefined
> {
  try {
    const res = await fetch(`${p.url}/v1/status`);
    return (await res.json()).membership;
  } catch {
    return undefined;
  }
}

const mean = (xs: number[]) => xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : NaN;
const max = (xs: number[]) => xs.length ? Math.max(...xs) : NaN;

/** Starts, converges, holds and measures a mesh of `n` peers. */
export async function measureScale(n: number, holdS: number) {
  const opts = { spares: 0, maxLogs: 2_000, timeoutMs: 300_000 };
  const peers: PeerProcess[] = [];
  let retriedStarts = 0;
  const loadavg = async () =>
    (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).map(Number);
  const loadAtStart = await loadavg();
  try {
    const t0 = performance.now();
    const first = await startPeer(opts);
    peers.push(first);
    while (peers.length < n) {
      const k = Math.min(BATCH, n - peers.length);
      // Each joins a random peer already up (as an operator would spread them), not all one.
      const seed = () => peers[Math.floor(Math.random() * peers.length)]!.p2p;
      // A start the box was too busy for (its join handshake timed out) is tried again, and
      // counted: the figure says how often.
      const start = async (): Promise<PeerProcess> => {
        for (let attempt = 1;; attempt++) {
          try {
            return await startPeer({ ...opts, join: [seed()] });
          } catch (err) {
            if (attempt >= 5) throw err;
            retriedStarts++;
            log(`    a start failed, again: ${String(err).split("\n")[1]?.slice(0, 80)}`);
          }
        }
      };
      const batch = await Promise.all(Array.from({ length: k }, start));
      peers.push(...batch);
    }
    const lastReady = performance.now();
    const startS = (lastReady - t0) / 1000;
    log(`    ${n} peers ready in ${startS.toFixed(1)} s; waiting for full views`);
    const sizes = () => Promise.all(peers.map((p) => viewOf(p).then((v) => v.length, () => 0)));
    let views: number[] = [];
    const converged = await waitFor(
      "full views",
      async () => (views = await sizes()).every((v) => v === n),
      180_000,
      500,
    ).then(() => true, () => false);
    const convergeS = (performance.now() - lastReady) / 1000;
    log(`    converged=${converged} ${convergeS.toFixed(1)} s after the last start`);

    // The hold: idle, views checked every 10 s (one /v1/peers per peer: negligible).
    const before = {
      at: performance.now(),
      cpu: await Promise.all(peers.map((p) => cpuTicks(p.pid))),
      swim: await Promise.all(peers.map(membershipOf)),
      tcp: await tcpBytesByPid(),
    };
    let smallestView = n;
    let checks = 0;
    let incomplete = 0;
    const end = performance.now() + holdS * 1000;
    while (performance.now() < end) {
      await sleep(Math.min(10_000, Math.max(0, end - performance.now())));
      const v = await sizes();
      checks++;
      smallestView = Math.min(smallestView, ...v);
      if (v.some((x) => x !== n)) incomplete++;
    }
    const after = {
      at: performance.now(),
      cpu: await Promise.all(peers.map((p) => cpuTicks(p.pid))),
      swim: await Promise.all(peers.map(membershipOf)),
      tcp: await tcpBytesByPid(),
    };
    const secs = (after.at - before.at) / 1000;
    // A peer that exited during the run (it should not): its last log lines say why.
    const exited: Array<{ peerId: string; code: number; lastLogs: string[] }> = [];
    for (const p of peers) {
      const st = await Promise.race([p.exited, sleep(0).then(() => undefined)]);
      if (st) exited.push({ peerId: p.peerId, code: st.code, lastLogs: p.logs.slice(-5) });
    }
    const cpu: number[] = [];
    const swimBytes: number[] = [];
    const swimMsgs: number[] = [];
    const tcpSent: number[] = [];
    const conns: number[] = [];
    const opened: number[] = [];
    const byType: Record<string, number> = {};
    peers.forEach((p, i) => {
      const c0 = before.cpu[i];
      const c1 = after.cpu[i];
      if (c0 !== undefined && c1 !== undefined) cpu.push((c1 - c0) / TICKS / secs);
      const s0 = before.swim[i]?.swim;
      const s1 = after.swim[i];
      if (s0 && s1) {
        swimBytes.push((s1.swim.sentBytes - s0.sentBytes) / secs);
        swimMsgs.push((s1.swim.sent - s0.sent) / secs);
        conns.push(s1.connections);
        opened.push((s1.connectionsOpened - before.swim[i]!.connectionsOpened) / secs);
        for (const [t, k] of Object.entries(s1.swim.sentByType)) {
          byType[t] = (byType[t] ?? 0) + (k - (s0.sentByType[t] ?? 0)) / secs / peers.length;
        }
      }
      const t0b = before.tcp.get(p.pid);
      const t1b = after.tcp.get(p.pid);
      if (t0b && t1b) tcpSent.push(tcpDelta(t0b, t1b).sent / secs);
    });
    return {
      peers: n,
      startSeconds: r(startS, 1),
      peersThatExited: exited,
      retriedStarts,
      loadAverage: { atStart: loadAtStart, atEnd: await loadavg() },
      converged,
      convergeSecondsAfterLastStart: converged ? r(convergeS, 1) : null,
      viewSizesAtConvergeEnd: { min: Math.min(...views), max: Math.max(...views) },
      holdSeconds: r(secs, 1),
      holdChecks: checks,
      holdChecksWithAnIncompleteView: incomplete,
      smallestViewDuringHold: smallestView,
      idleCpuPerPeerCoreShare: { mean: r(mean(cpu), 4), max: r(max(cpu), 4) },
      swimSentBytesPerPeerPerSec: {
        mean: Math.round(mean(swimBytes)),
        max: Math.round(max(swimBytes)),
      },
      swimSentMsgsPerPeerPerSec: r(mean(swimMsgs), 2),
      swimSentMsgsPerPeerPerSecByType: Object.fromEntries(
        Object.entries(byType).map(([t, v]) => [t, r(v, 3)]),
      ),
      connectionsOpenedPerPeerPerSec: r(mean(opened), 3),
      tcpSentBytesPerPeerPerSec: { mean: Math.round(mean(tcpSent)), max: Math.round(max(tcpSent)) },
      connectionsPerPeer: { mean: r(mean(conns), 1), max: max(conns) },
    };
  } finally {
    await stopAll(peers);
  }
}

/** Runs part `scale`. */
export async function run(opts: PartOptions): Promise<PartResult> {
  const n = Number(arg("--peers", opts.quick ? "20" : "50"));
  const hold = Number(arg("--hold", opts.quick ? "30" : "120"));
  const data: Record<string, unknown> = {
    note: "Real `virgo start --spares 0` processes on 127.0.0.1; baseline = the load-flooding " +
      "mesh before SWIM (issue 10): 30 peers ~164 KB/s sent each idle, 45–95 s to converge, " +
      "10 idle peers 42% of a core.",
  };
  const headlines: Headline[] = [];
  const res = await step(data, `peers_${n}`, () => measureScale(n, hold));
  if (res) {
    headlines.push({
      part: "scale",
      metric: `${n} real peers: converge after the last start`,
      virgo: res.converged ? f(res.convergeSecondsAfterLastStart, "s", 1) : "did not",
      baseline: "30 peers: 45–95 s",
      ratio: "",
      target: "≤ 30 s",
      ok: res.converged && (res.convergeSecondsAfterLastStart ?? Infinity) <= 30,
    });
    headlines.push({
      part: "scale",
      metric: `${n} peers: views stay complete over ${res.holdSeconds} s`,
      virgo: `${res.holdChecks - res.holdChecksWithAnIncompleteView}/${res.holdChecks} checks`,
      baseline: "",
      ratio: `smallest view ${res.smallestViewDuringHold}`,
      target: "every check",
      ok: res.holdChecksWithAnIncompleteView === 0,
    });
    headlines.push({
      part: "scale",
      metric: `${n} peers idle: CPU per peer (mean; max)`,
      virgo: `${f(res.idleCpuPerPeerCoreShare.mean! * 100, "%", 2)}; ${
        f(res.idleCpuPerPeerCoreShare.max! * 100, "%", 2)
      }`,
      baseline: "10 peers: 4.2% each",
      ratio: "",
      target: "< 1% of a core",
      ok: (res.idleCpuPerPeerCoreShare.mean ?? Infinity) < 0.01,
    });
    headlines.push({
      part: "scale",
      metric: `${n} peers idle: bytes sent/s per peer, SWIM (all TCP)`,
      virgo: `${f(res.swimSentBytesPerPeerPerSec.mean, "B/s")} (${
        f(res.tcpSentBytesPerPeerPerSec.mean / 1024, "KB/s", 1)
      })`,
      baseline: "30 peers: ~164 KB/s",
      ratio: `${f(res.swimSentMsgsPerPeerPerSec, "msg/s", 2)}`,
      target: "flat in N",
    });
    headlines.push({
      part: "scale",
      metric: `${n} peers idle: open connections per peer (mean; max)`,
      virgo: `${f(res.connectionsPerPeer.mean, "", 1)}; ${f(res.connectionsPerPeer.max)}`,
      baseline: `full mesh: ${n - 1}`,
      ratio: "",
      target: "bounded",
    });
  }
  await writeResult("mesh_scale", data);
  log("  wrote bench/results/mesh_scale.json");
  return { name: "scale", data, headlines };
}

function arg(name: string, def: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] ?? def : def;
}

if (import.meta.main) {
  installSignalHandlers();
  try {
    const res = await run({ quick: Deno.args.includes("--quick") });
    console.log(JSON.stringify(res.headlines, null, 2));
  } finally {
    await stopEverything({ graceMs: 3_000 });
  }
  Deno.exit(0);
}
