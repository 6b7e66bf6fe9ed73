/**
 * Part 1 — a single peer.
 *
 * - Throughput and latency: bare hono on Deno.serve (`_baseline.ts`, its own
 *   process) vs `GET /fn/hello` through a full peer (deployed with the CLI),
 *   under `wrk --latency` at -c1 and -c50, alternating rounds.
 *
 * Cold start and memory are part `density` (density.ts).
 *
 * Run alone: deno run -A bench/http.ts [--quick]
 * @module
 */
import {
  deploy,
  installSignalHandlers,
  startPeer,
  stopAll,
  stopEverything,
} from "../test/_harness.ts";
import { startBaseline } from "./_baseline.ts";
import { versus } from "./_wrk.ts";
import {
  f,
  type Headline,
  log,
  type PartOptions,
  type PartResult,
  r,
  step,
  writeResult,
} from "./_util.ts";

/** Runs part 1. */
export async function run(opts: PartOptions): Promise<PartResult> {
  const data: Record<string, unknown> = {};
  const headlines: Headline[] = [];
  const seconds = opts.quick ? 2 : 5;
  const rounds = opts.quick ? 1 : 2;
  data.config = { seconds, rounds, warmupSeconds: 1, wrkThreads: 1 };

  // Throughput & latency.
  try {
    const base = await startBaseline();
    const peer = await startPeer({ spares: 1 });
    data.peerId = peer.peerId;
    await step(data, "deploy_hello_cli", async () => {
      const t0 = performance.now();
      const out = await deploy(peer, "hello", "hello");
      return { ...out, ms: r(performance.now() - t0, 1) };
    });
    for (const c of [1, 50]) {
      const v = await step(
        data,
        `hello_c${c}`,
        () =>
          versus({ url: `${base.url}/` }, { url: `${peer.url}/fn/hello` }, {
            connections: c,
            seconds,
            rounds,
          }),
      );
      if (!v) continue;
      headlines.push({
        part: "http",
        metric: `/fn/hello req/s, c${c}`,
        virgo: f(v.subject.reqPerSec),
        baseline: f(v.base.reqPerSec),
        ratio: f(v.reqPerSecRatio),
        target: c === 50 ? "≥ 0.40" : "",
        ok: c === 50 ? (v.reqPerSecRatio ?? 0) >= 0.4 : undefined,
      });
      headlines.push({
        part: "http",
        metric: `/fn/hello p50 (p99), c${c}`,
        virgo: `${f(v.subject.p50ms, "ms", 3)} (${f(v.subject.p99ms, "", 2)})`,
        baseline: `${f(v.base.p50ms, "ms", 3)} (${f(v.base.p99ms, "", 2)})`,
        ratio: `+${f(v.p50AddedMs, "ms", 3)}`,
        target: c === 1 ? "≤ +0.07 ms" : "",
        ok: c === 1 ? (v.p50AddedMs ?? Infinity) <= 0.07 : undefined,
      });
    }
    await stopAll([peer]);
    await base.stop();
  } catch (err) {
    await step(data, "setup_failed", () => Promise.reject(err));
  } finally {
    await stopEverything({ graceMs: 3_000 });
  }

  // The sandbox team's micro-benchmark (in-process pool, no HTTP), for reference.
  if (!opts.quick) {
    await step(data, "sandbox_hop_micro", async () => {
      const { runJsonScript } = await import("./_scripts.ts");
      return await runJsonScript("bench/sandbox/hop.ts", ["--seconds=2"], 120_000);
    });
  }
  await writeResult("http", data);
  log(`  wrote bench/results/http.json`);
  return { name: "http", data, headlines };
}

if (import.meta.main) {
  installSignalHandlers();
  const res = await run({ quick: Deno.args.includes("--quick") });
  console.log(JSON.stringify(res.headlines, null, 2));
  Deno.exit(0);
}
