/**
 * Overload: one peer, a function that spins 20 ms of CPU, driven open-loop (a fixed rate of
 * calls, sent without waiting for answers) well past what the peer can run.
 *
 *   deno run -A bench/overload.ts [--rate 300] [--seconds 10] [--cpu-ms 20] [--quick]
 *
 * Reported (and written to bench/results/overload.json): capacity (closed loop, as many callers
 * as cores, measured first on the same peer), goodput under overload and its ratio to capacity,
 * answers by status and code, latency of accepted calls (p50/p99/max) and of refusals, the
 * longest stretch without a success, calls in flight at the peak, sandbox processes killed,
 * memory of the peer and its sandboxes before, at the peak and after, and the first call once
 * the load stops.
 *
 * Measured 2026-11-27 on the 2-core machine of MEASURED.md (shared: load average 4–5), 300
 * calls/s for 10 s of a 20 ms function, capacity ~88 calls/s (2 processes):
 *
 * | | before (59fbb03) | after |
 * |---|---|---|
 * | answers | 852 × 200, 409 × 504, 1,739 × 500 FUNCTION_CRASHED | 797 × 200, 2,203 × 503 OVERLOADED (all with Retry-After) |
 * | goodput | 64.9/s, but most served after 4–8 s | 74.5/s (0.85 of capacity; the rest is the host answering 220 refusals/s and the load generator on the same 2 cores) |
 * | accepted p50 / p99 | 4,761 / 8,061 ms | 668 / 1,228 ms |
 * | refusal p50 / p99 | — | 0.3 / 112 ms |
 * | longest stretch without a success | 2.8 s | 0.23 s |
 * | calls in flight at the peak | 2,341 | 94 |
 * | sandbox processes killed | 2 (each took its queued calls with it) | 0 (same pids before and after) |
 * | last answer after the load stopped | 4.75 s | 0.62 s |
 * | memory of peer + sandboxes before / peak / after | 203 / 354 / 307 MB | 262 / 287 / 288 MB |
 * @module
 */
import { descendantsOf, installSignalHandlers, startPeer, stopAll, stopEverything } from "../test/_harness.ts";
import { machineInfo, pct, r, RESULTS, rssMb, sleep, summary } from "./_util.ts";

const args = Deno.args;
const flag = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const quick = args.includes("--quick");
const RATE = flag("rate", 300);
const SECONDS = flag("seconds", quick ? 5 : 10);
const CPU_MS = flag("cpu-ms", 20);

/** A function that spins `ms` of CPU per call (shared with `test/overload_test.ts`). */
export const cpuFunction = (ms: number): string =>
  `export default { fetch() {
  const end = performance.now() + ${ms};
  while (performance.now() < end);
  return new Response("done");
} }`;

const CODE = cpuFunction(CPU_MS);

/** One answer of the open loop: times (performance.now()), status and the contract's code. */
export interface Answer {
  sent: number;
  done: number;
  status: number;
  /** `ok`, the error code of the JSON body, `not JSON: …`, or the fetch error (status 0). */
  code: string;
  retryAfter: string | null;
  /** The answer said it is JSON. */
  json: boolean;
}

/** RSS in MB of the peer and all its descendants (the sandboxes). */
async function treeMb(pid: number): Promise<number> {
  let mb = (await rssMb(pid)) ?? 0;
  for (const k of await descendantsOf(pid)) mb += (await rssMb(k)) ?? 0;
  return mb;
}

/** Calls `url` once; a failed fetch is an answer of status 0. */
export async function call(url: string, signal?: AbortSignal): Promise<Answer> {
  const sent = performance.now();
  try {
    const res = await fetch(url, signal ? { signal } : {});
    const text = await res.text();
    let code = "ok";
    if (res.status !== 200) {
      try {
        code = JSON.parse(text).error.code;
      } catch {
        code = `not JSON: ${text.slice(0, 80)}`;
      }
    }
    return {
      sent,
      done: performance.now(),
      status: res.status,
      code,
      retryAfter: res.headers.get("retry-after"),
      json: (res.headers.get("content-type") ?? "").includes("application/json"),
    };
  } catch (err) {
    const code = String(err).slice(0, 60);
    return { sent, done: performance.now(), status: 0, code, retryAfter: null, json: false };
  }
}

/** Pids of the peer's function processes (spares left out). */
export async function functionPids(peerUrl: string): Promise<number[]> {
  const status = await (await fetch(`${peerUrl}/v1/status`)).json();
  return (status.sandbox.detail as Array<{ pid: number; fn?: string }>)
    .filter((d) => d.fn !== undefined).map((d) => d.pid);
}

/** The longest stretch of `[from, to]` with none of `times` in it, in ms. */
export function longestGap(times: number[], from: number, to: number): number {
  let gap = 0;
  let prev = from;
  for (const t of times.filter((t) => t >= from && t <= to).sort((a, b) => a - b)) {
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return Math.max(gap, to - prev);
}

async function capacity(url: string, ms: number): Promise<number> {
  // Enough callers that every core's process has calls waiting (the pool scales on waiting calls).
  const callers = 4 * navigator.hardwareConcurrency;
  let n = 0;
  const end = performance.now() + ms;
  await Promise.all(Array.from({ length: callers }, async () => {
    while (performance.now() < end) {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) n++;
    }
  }));
  return n / (ms / 1000);
}

async function main(): Promise<void> {
  const peer = await startPeer({ spares: 1 });
  try {
    const put = await fetch(`${peer.url}/v1/functions/cpu`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code: CODE }),
    });
    if (put.status !== 201) throw new Error(`deploy: ${put.status} ${await put.text()}`);
    const url = `${peer.url}/fn/cpu`;
    await capacity(url, 1_000); // warm-up: processes started, limits learned
    const cap = await capacity(url, quick ? 2_000 : 3_000);
    await sleep(500);
    const memBefore = await treeMb(peer.pid);
    const pidsBefore = await functionPids(peer.url);

    // Open loop: every tick sends the calls due by now, never waiting for answers.
    const answers: Promise<Answer>[] = [];
    const abort = new AbortController();
    const t0 = performance.now();
    const total = Math.round(RATE * SECONDS);
    let peakInflight = 0;
    const limits: number[] = [];
    let peakMem = memBefore;
    const sampler = (async () => {
      while (answers.length < total) {
        try {
          const s =
            await (await fetch(`${peer.url}/v1/status`, { signal: AbortSignal.timeout(2_000) }))
              .json();
          peakInflight = Math.max(peakInflight, s.inflight ?? 0);
          for (const d of s.sandbox.detail ?? []) if (d.limit !== undefined) limits.push(d.limit);
        } catch { /* too busy to answer: the next sample will tell */ }
        peakMem = Math.max(peakMem, await treeMb(peer.pid));
        await sleep(250);
      }
    })();
    while (answers.length < total) {
      const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
      while (answers.length < due) {
        answers.push(call(url, abort.signal));
      }
      await sleep(2);
    }
    const sentFor = (performance.now() - t0) / 1000;
    await sampler;
    // Answers still missing 30 s after the last call was sent are given up on.
    const giveUp = setTimeout(() => abort.abort(), 30_000);
    const all = await Promise.all(answers);
    clearTimeout(giveUp);
    const drainedAfter = (performance.now() - t0) / 1000 - sentFor;

    const firstAfter = performance.now();
    const after = await fetch(url);
    await after.text();
    const firstAfterMs = performance.now() - firstAfter;
    await sleep(1_000);
    const memAfter = await treeMb(peer.pid);
    const pidsAfter = await functionPids(peer.url);

    const byAnswer: Record<string, number> = {};
    for (const a of all) {
      const k = `${a.status} ${a.code}`;
      byAnswer[k] = (byAnswer[k] ?? 0) + 1;
    }
    const ok = all.filter((a) => a.status === 200);
    const refused = all.filter((a) => a.code === "OVERLOADED");
    const inWindow = ok.filter((a) => a.done - t0 <= sentFor * 1000);
    const gap = longestGap(ok.map((a) => a.done), t0, t0 + sentFor * 1000);
    // One warning per process the sandbox killed (the calls it ended say so too: not counted).
    const killed = peer.logs.filter((l) => l.includes('"component":"sandbox"') && /killed/.test(l)).length;
    const goodput = inWindow.length / sentFor;
    const result = {
      machine: await machineInfo(),
      config: { rate: RATE, seconds: SECONDS, cpuMs: CPU_MS, calls: total },
      capacityPerS: r(cap, 1),
      goodputPerS: r(goodput, 1),
      goodputOfCapacity: r(goodput / cap, 2),
      answers: byAnswer,
      accepted: summary(ok.map((a) => a.done - a.sent)),
      refusals: summary(refused.map((a) => a.done - a.sent)),
      refusalsWithRetryAfter: refused.filter((a) => a.retryAfter !== null).length,
      longestGapWithoutSuccessMs: r(gap, 0),
      peakInflight,
      // The per-process limit the pool had learned, sampled every 250 ms.
      processLimitSeen: limits.length
        ? { min: Math.min(...limits), p50: pct(limits, 0.5), max: Math.max(...limits) }
        : null,
      lastAnswerAfterLoadS: r(drainedAfter, 2),
      firstCallAfterMs: r(firstAfterMs, 1),
      firstCallAfterStatus: after.status,
      sandboxKilled: killed,
      sandboxPidsBefore: pidsBefore,
      sandboxPidsAfter: pidsAfter,
      memoryMb: { before: r(memBefore, 0), peak: r(peakMem, 0), after: r(memAfter, 0) },
    };
    console.log(JSON.stringify(result, null, 2));
    const out = args.includes("--out")
      ? args[args.indexOf("--out") + 1]!
      : `${RESULTS}overload.json`;
    await Deno.writeTextFile(out, JSON.stringify(result, null, 2) + "\n");
  } finally {
    await stopAll([peer]);
    await stopEverything({ graceMs: 3_000 });
  }
}

if (import.meta.main) {
  installSignalHandlers();
  await main();
}
