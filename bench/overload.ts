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

const CODE = `export default { fetch() {
  const end = performance.now() + ${CPU_MS};
  while (performance.now() < end);
  return new Response("done");
} }`;

interface Answer {
  sent: number;
  done: number;
  status: number;
  code: string;
  retryAfter: string | null;
}

/** RSS in MB of the peer and all its descendants (the sandboxes). */
async function treeMb(pid: number): Promise<number> {
  let mb = (await rssMb(pid)) ?? 0;
  for (const k of await descendantsOf(pid)) mb += (await rssMb(k)) ?? 0;
  return mb;
}

async function call(url: string, signal: AbortSignal): Promise<Omit<Answer, "sent">> {
  try {
    const res = await fetch(url, { signal });
    const text = await res.text();
    let code = res.status === 200 ? "ok" : "?";
    if (res.status !== 200) {
      try {
        code = JSON.parse(text).error.code;
      } catch { /* not the contract's JSON */ }
    }
    return {
      done: performance.now(),
      status: res.status,
      code,
      retryAfter: res.headers.get("retry-after"),
    };
  } catch (err) {
    return { done: performance.now(), status: 0, code: String(err).slice(0, 60), retryAfter: null };
  }
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
    const status0 = await (await fetch(`${peer.url}/v1/status`)).json();
    const pidsBefore = (status0.sandbox.detail as Array<{ pid: number; fn?: string }>)
      .filter((d) => d.fn).map((d) => d.pid);

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
        const sent = performance.now();
        answers.push(call(url, abort.signal).then((a) => ({ sent, ...a })));
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
    const status1 = await (await fetch(`${peer.url}/v1/status`)).json();
    const pidsAfter = (status1.sandbox.detail as Array<{ pid: number; fn?: string }>)
      .filter((d) => d.fn).map((d) => d.pid);

    const byAnswer: Record<string, number> = {};
    for (const a of all) {
      const k = `${a.status} ${a.code}`;
      byAnswer[k] = (byAnswer[k] ?? 0) + 1;
    }
    const ok = all.filter((a) => a.status === 200);
    const refused = all.filter((a) => a.code === "OVERLOADED");
    const inWindow = ok.filter((a) => a.done - t0 <= sentFor * 1000);
    const doneTimes = ok.map((a) => a.done).sort((a, b) => a - b);
    let gap = 0;
    let prev = t0;
    for (const t of doneTimes.filter((t) => t - t0 <= sentFor * 1000)) {
      gap = Math.max(gap, t - prev);
      prev = t;
    }
    gap = Math.max(gap, t0 + sentFor * 1000 - prev);
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

installSignalHandlers();
await main();
