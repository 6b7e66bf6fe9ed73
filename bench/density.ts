/**
 * Part `density` — what a peer and its function processes cost in memory, how many functions one
 * peer keeps answering quickly, and how fast a new function answers its first call.
 *
 * - Idle peer: a mesh of 3 peers (`--spares 1`, the default), each peer process's RSS, PSS and
 *   USS after a settle (PSS/USS from /proc/<pid>/smaps_rollup; RSS counts the shared Deno binary
 *   whole in every process).
 * - Warm function process: hello deployed and called 2,000 times, 8 in flight; its RSS/PSS/USS.
 * - 100 functions in rotation on one peer: deployed, one warm-up round, then measured rounds of
 *   one call to each in turn; p50/p99, processes kept warm, PSS of the peer and all its
 *   processes, and the peer's idle CPU with them.
 * - Cold start: deploy (PUT /v1/functions/x) → first GET /fn/x, from a warm generic spare
 *   (--spares 1) and from a fresh process (--spares 0).
 *
 * Run alone: deno run -A bench/density.ts [--quick]
 * @module
 */
import { bundle } from "../runtime/catalog/mod.ts";
import { processMemory } from "../runtime/sandbox/mod.ts";
import {
  installSignalHandlers,
  type PeerProcess,
  startMesh,
  startPeer,
  stopAll,
  stopEverything,
  waitFor,
} from "../test/_harness.ts";
import { wrk } from "./_wrk.ts";
import {
  f,
  type Headline,
  log,
  type PartOptions,
  type PartResult,
  pct,
  r,
  ROOT,
  sleep,
  step,
  summary,
  writeResult,
} from "./_util.ts";

const MB = 1048576;

interface SandboxDetail {
  pid: number;
  fn?: string;
  inflight: number;
  rssBytes: number;
  pssBytes?: number;
  ussBytes?: number;
}
interface Memory {
  rssBytes: number;
  pssBytes: number;
  ussBytes: number;
}
interface Status {
  sandbox: {
    processes: number;
    spares: number;
    inflight: number;
    detail?: SandboxDetail[];
    memory?: Memory;
  };
  /** Absent from peers older than PSS in the status. */
  memory?: Partial<Memory> & { totalPssBytes?: number };
}

async function status(peer: PeerProcess): Promise<Status> {
  const res = await fetch(`${peer.url}/v1/status`);
  if (!res.ok) throw new Error(`GET /v1/status: ${res.status}`);
  return await res.json() as Status;
}

/** Bundled hello with a unique comment, so each deploy is a new version (a new process). */
export async function helloVariants(): Promise<(tag: string) => string> {
  const { code } = await bundle(`${ROOT}functions/hello.ts`);
  return (tag) => `${code}\n// bench ${tag} ${crypto.randomUUID()}\n`;
}

async function deployHttp(peer: PeerProcess, name: string, code: string): Promise<void> {
  const res = await fetch(`${peer.url}/v1/functions/${name}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code }),
  });
  const text = await res.text();
  if (res.status !== 201 && res.status !== 200) {
    throw new Error(`deploy ${name}: ${res.status} ${text.slice(0, 300)}`);
  }
}

/** deploy → first response, `reps` times with distinct functions. */
export async function coldStarts(
  peer: PeerProcess,
  reps: number,
  variant: (tag: string) => string,
  waitSpare: boolean,
  tag: string,
) {
  const deployMs: number[] = [];
  const firstMs: number[] = [];
  const totalMs: number[] = [];
  const sparesSeen: number[] = [];
  for (let i = 0; i < reps; i++) {
    if (waitSpare) {
      // A spare is replaced in the background after each use; wait for it, as a user's next deploy would find it.
      await waitFor(
        "a warm spare",
        async () => (await status(peer)).sandbox.spares >= 1,
        15_000,
        20,
      ).catch(() => {});
    } else {
      await sleep(100);
    }
    sparesSeen.push((await status(peer)).sandbox.spares);
    const name = `cold-${tag}-${i}`;
    const code = variant(name);
    const t0 = performance.now();
    await deployHttp(peer, name, code);
    const t1 = performance.now();
    const res = await fetch(`${peer.url}/fn/${name}`);
    const body = await res.text();
    const t2 = performance.now();
    if (!res.ok) throw new Error(`first call of ${name}: ${res.status} ${body.slice(0, 200)}`);
    deployMs.push(t1 - t0);
    firstMs.push(t2 - t1);
    totalMs.push(t2 - t0);
    // Retire it so processes do not pile up across repetitions.
    await (await fetch(`${peer.url}/v1/functions/${name}`, { method: "DELETE" })).body?.cancel();
  }
  return {
    reps,
    sparesAtDeploy: sparesSeen,
    deploy: summary([...deployMs]),
    firstCall: summary([...firstMs]),
    deployPlusFirstCall: summary([...totalMs]),
    rawMs: {
      deploy: deployMs.map((x) => r(x)),
      first: firstMs.map((x) => r(x)),
      total: totalMs.map((x) => r(x)),
    },
  };
}

/** Memory of a process in MB: RSS, PSS and USS (see runtime/sandbox/memory.ts). */
async function memMb(pid: number | "self") {
  const m = await processMemory(pid);
  return m
    ? { rssMb: r(m.rssBytes / MB, 1), pssMb: r(m.pssBytes / MB, 1), ussMb: r(m.ussBytes / MB, 1) }
    : null;
}

/** utime + stime of a process in ms (clock ticks of 10 ms). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

/** Memory of each peer process of an idle mesh, and of the processes under it. */
async function idlePeers(peers: PeerProcess[], settleMs: number) {
  await sleep(settleMs);
  const out: Array<{
    peer: Awaited<ReturnType<typeof memMb>>;
    children: Array<{ pid: number; spare: boolean; mb: Awaited<ReturnType<typeof memMb>> }>;
    statusMemory: Status["memory"];
  }> = [];
  for (const p of peers) {
    const st = await status(p);
    out.push({
      peer: await memMb(p.pid),
      children: await Promise.all((st.sandbox.detail ?? []).map(async (d) => ({
        pid: d.pid,
        spare: !d.fn,
        mb: await memMb(d.pid),
      }))),
      statusMemory: st.memory,
    });
  }
  const med = (k: "rssMb" | "pssMb" | "ussMb") =>
    r(pct(out.map((o) => o.peer?.[k] ?? NaN), 0.5), 1);
  return { peers: out, median: { rssMb: med("rssMb"), pssMb: med("pssMb"), ussMb: med("ussMb") } };
}

/**
 * One function process after `calls` calls, 8 in flight (the memory a warm function holds), then
 * after `wrk -c50` for `floodSeconds` (what it keeps after a burst).
 */
async function warmProcess(
  peer: PeerProcess,
  calls: number,
  floodSeconds: number,
  variant: (tag: string) => string,
) {
  const name = "warm-mem";
  await deployHttp(peer, name, variant(name));
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < calls) {
      const i = next++;
      await (await fetch(`${peer.url}/fn/${name}?name=w${i}`)).text();
    }
  }));
  await sleep(500);
  const st = await status(peer);
  const d = (st.sandbox.detail ?? []).find((x) => x.fn?.startsWith(`${name}@`));
  if (!d) throw new Error(`no process for ${name} in /v1/status`);
  const afterCalls = await memMb(d.pid);
  const flood = await wrk(`${peer.url}/fn/${name}`, { connections: 50, seconds: floodSeconds });
  await sleep(500);
  return {
    calls,
    pid: d.pid,
    statusRssMb: r(d.rssBytes / MB, 1),
    fromProc: afterCalls,
    afterFlood: { seconds: floodSeconds, reqPerSec: r(flood.reqPerSec, 0), mb: await memMb(d.pid) },
  };
}

/**
 * `n` distinct functions deployed on one peer and called one after another in rotation: a warm-up
 * round, then `rounds` measured rounds. Reports the latency of the measured calls, how many
 * processes stayed warm, the memory of the peer and all its processes, and the peer's CPU while
 * it sits idle with them (the memory watchdog reads each process's /proc every 50 ms).
 */
export async function rotation(
  peer: PeerProcess,
  n: number,
  rounds: number,
  variant: (tag: string) => string,
) {
  const names = Array.from({ length: n }, (_, i) => `rot-${i}`);
  const t0 = performance.now();
  for (const name of names) await deployHttp(peer, name, variant(name));
  const deploySeconds = (performance.now() - t0) / 1000;
  const call = async (name: string) => {
    const t = performance.now();
    const res = await fetch(`${peer.url}/fn/${name}`);
    await res.text();
    if (!res.ok) throw new Error(`${name}: ${res.status}`);
    return performance.now() - t;
  };
  const warmup: number[] = [];
  for (const name of names) warmup.push(await call(name));
  const ms: number[] = [];
  for (let k = 0; k < rounds; k++) for (const name of names) ms.push(await call(name));
  const st = await status(peer);
  // Read here, not taken from the status, so that a peer without PSS in its status compares too.
  const procs = await Promise.all((st.sandbox.detail ?? []).map((d) => processMemory(d.pid)));
  const sum = (k: keyof Memory) => procs.reduce((a, m) => a + (m?.[k] ?? 0), 0) / MB;
  const peerMb = await memMb(peer.pid);
  const cpu0 = await cpuMs(peer.pid);
  const idleT0 = performance.now();
  await sleep(3_000);
  const idleCpu = (await cpuMs(peer.pid) - cpu0) / (performance.now() - idleT0);
  return {
    functions: n,
    rounds,
    deploySeconds: r(deploySeconds, 1),
    warmupRound: summary([...warmup]),
    measured: summary([...ms]),
    // Calls over 10 ms: a few in bursts is the shared box; one in three is process churn.
    slowCalls: ms.filter((x) => x > 10).length,
    warmProcesses: st.sandbox.processes,
    spares: st.sandbox.spares,
    peerMb,
    processesPssMb: r(sum("pssBytes"), 1),
    processesUssMb: r(sum("ussBytes"), 1),
    totalPssMb: r(sum("pssBytes") + (peerMb?.pssMb ?? NaN), 1),
    statusTotalPssMb: r((st.memory?.totalPssBytes ?? NaN) / MB, 1),
    ussPerProcessMb: procs.length
      ? r(pct(procs.map((m) => (m?.ussBytes ?? 0) / MB), 0.5), 1)
      : null,
    peerIdleCpuShare: r(idleCpu, 3),
  };
}

/** Runs part `density`. */
export async function run(opts: PartOptions): Promise<PartResult> {
  const data: Record<string, unknown> = {};
  const headlines: Headline[] = [];
  const reps = opts.quick ? 5 : 10;
  const rotationFns = 100;
  const rotationRounds = opts.quick ? 2 : 5;
  const warmCalls = opts.quick ? 500 : 2_000;
  data.config = { coldReps: reps, rotationFns, rotationRounds, warmCalls, idlePeers: 3 };
  const variant = await helloVariants();
  const mb = (x: { rssMb: number | null; pssMb: number | null; ussMb: number | null } | null) =>
    x ? `${f(x.pssMb, "", 1)} / ${f(x.ussMb, "", 1)} / ${f(x.rssMb, "MB", 1)}` : "n/a";

  // An idle mesh of 3, then a warm function process on one of its peers.
  try {
    const peers = await startMesh(3, { spares: 1 });
    const idle = await step(data, "idle_peer", () => idlePeers(peers, opts.quick ? 3_000 : 8_000));
    if (idle) {
      headlines.push({
        part: "density",
        metric: "idle peer of 3 (spare excluded), median: PSS / USS / RSS",
        virgo: mb(idle.median),
        baseline: "",
        ratio: "",
        target: "≤ 80 MB PSS",
        ok: (idle.median.pssMb ?? Infinity) <= 80,
      });
    }
    const warm = await step(
      data,
      "warm_function_process",
      () => warmProcess(peers[0]!, warmCalls, opts.quick ? 1 : 3, variant),
    );
    if (warm) {
      headlines.push({
        part: "density",
        metric: `warm function process (${warmCalls} calls): USS / PSS / RSS`,
        virgo: warm.fromProc
          ? `${f(warm.fromProc.ussMb, "", 1)} / ${f(warm.fromProc.pssMb, "", 1)} / ${
            f(warm.fromProc.rssMb, "MB", 1)
          }`
          : "n/a",
        baseline: "",
        ratio: "",
        target: "≤ 20 MB USS",
        ok: (warm.fromProc?.ussMb ?? Infinity) <= 20,
      });
      const fl = warm.afterFlood.mb;
      headlines.push({
        part: "density",
        metric: `…then after wrk -c50 ${warm.afterFlood.seconds} s: USS / PSS / RSS`,
        virgo: fl
          ? `${f(fl.ussMb, "", 1)} / ${f(fl.pssMb, "", 1)} / ${f(fl.rssMb, "MB", 1)}`
          : "n/a",
        baseline: `${f(warm.afterFlood.reqPerSec, "req/s", 0)}`,
        ratio: "",
        target: "reported",
      });
    }
    await stopAll(peers);
  } catch (err) {
    await step(data, "mesh_setup_failed", () => Promise.reject(err));
  } finally {
    await stopEverything({ graceMs: 3_000 });
  }

  // 100 functions in rotation on one peer, then cold starts from a spare on the same peer.
  try {
    const peer = await startPeer({ spares: 1 });
    const rot = await step(
      data,
      "rotation",
      () => rotation(peer, rotationFns, rotationRounds, variant),
    ) as Awaited<ReturnType<typeof rotation>> | undefined;
    if (rot) {
      headlines.push({
        part: "density",
        metric: `${rotationFns} functions in rotation: p50 (p99), warm processes`,
        virgo: `${f(rot.measured.p50ms, "ms")} (${
          f(rot.measured.p99ms, "ms")
        }), ${rot.warmProcesses} warm`,
        baseline: "",
        ratio: "",
        target: "p99 ≤ 50 ms",
        ok: (rot.measured.p99ms ?? Infinity) <= 50,
      });
      headlines.push({
        part: "density",
        metric: `${rotationFns} functions: total PSS (peer + processes); peer idle CPU`,
        virgo: `${f(rot.totalPssMb, "MB", 0)}; ${f((rot.peerIdleCpuShare ?? 0) * 100, "%", 1)}`,
        baseline: `USS/process ${f(rot.ussPerProcessMb, "MB", 1)}`,
        ratio: "",
        target: "reported",
      });
    }
    // Retire the rotation's functions so the cold starts find a quiet peer.
    for (let i = 0; i < rotationFns; i++) {
      await (await fetch(`${peer.url}/v1/functions/rot-${i}`, { method: "DELETE" })).body?.cancel();
    }
    const spare = await step(
      data,
      "cold_from_spare",
      () => coldStarts(peer, reps, variant, true, "s"),
    ) as
      | Awaited<ReturnType<typeof coldStarts>>
      | undefined;
    if (spare) {
      headlines.push({
        part: "density",
        metric: "cold start from spare: first call p50 (deploy+first)",
        virgo: `${f(spare.firstCall.p50ms, "ms")} (${f(spare.deployPlusFirstCall.p50ms, "ms")})`,
        baseline: "",
        ratio: "",
        target: "first call ≤ 2 ms",
        ok: (spare.firstCall.p50ms ?? Infinity) <= 2,
      });
    }
    await stopAll([peer]);
  } catch (err) {
    await step(data, "setup_failed", () => Promise.reject(err));
  } finally {
    await stopEverything({ graceMs: 3_000 });
  }

  // Cold start from a fresh process.
  try {
    const fresh = await startPeer({ spares: 0 });
    const cold = await step(
      data,
      "cold_fresh_process",
      () => coldStarts(fresh, reps, variant, false, "f"),
    ) as
      | Awaited<ReturnType<typeof coldStarts>>
      | undefined;
    if (cold) {
      headlines.push({
        part: "density",
        metric: "cold start, fresh process (--spares 0): deploy+first p50 (first)",
        virgo: `${f(cold.deployPlusFirstCall.p50ms, "ms")} (${f(cold.firstCall.p50ms, "ms")})`,
        baseline: "fresh `deno run` ~13 ms",
        ratio: "",
        target: "≤ 20 ms",
        ok: (cold.deployPlusFirstCall.p50ms ?? Infinity) <= 20,
      });
    }
    await stopAll([fresh]);
  } catch (err) {
    await step(data, "cold_fresh_setup_failed", () => Promise.reject(err));
  } finally {
    await stopEverything({ graceMs: 3_000 });
  }
  await writeResult("density", data);
  log(`  wrote bench/results/density.json`);
  return { name: "density", data, headlines };
}

if (import.meta.main) {
  installSignalHandlers();
  const res = await run({ quick: Deno.args.includes("--quick") });
  console.log(JSON.stringify(res.headlines, null, 2));
  Deno.exit(0);
}
