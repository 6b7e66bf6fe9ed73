/**
 * `sim` part: the SWIM membership core (`p2p/swim/`) at 50, 200 and 1,000 peers in one process
 * on virtual time — the same `createSwim` code the mesh runs, every message encoded and decoded
 * with the real codec, 0.2–2 ms latency, 100 bytes of meta on every ping and ack. Peers join
 * through 3 seeds, one every 10 ms; after convergence and 20 s of settling, traffic is measured
 * for 30 s; then 3 peers are killed one after another. Targets (issue 10, 4b): bytes/s and
 * connections per peer flat within ±25% from 50 to 1,000; detection growing no faster than log N.
 *
 *   deno run -A bench/sim.ts [--quick]      # --quick: 50 and 200 peers, shorter windows
 *
 * Bytes are SWIM messages as encoded; the libp2p stream adds ~30 bytes a message (length prefix,
 * yamux header, noise tag), the same at every size.
 * @module
 */
import { runScenario, type ScenarioResult } from "../p2p/swim/_scenario.ts";
import {
  f,
  type Headline,
  log,
  type PartOptions,
  type PartResult,
  r,
  writeResult,
} from "./_util.ts";

function median(xs: Array<number | null>): number | null {
  const s = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : null;
}

function row(res: ScenarioResult, wallS: number): string {
  const det = median(res.detections.map((d) => d.allDeadMs));
  const sus = median(res.detections.map((d) => d.firstSuspectMs));
  return `| ${res.n} | ${f(res.convergeMs === null ? null : res.convergeMs / 1000, "s", 1)} | ${
    f(res.bytesPerSec.mean, "", 0)
  } (max ${f(res.bytesPerSec.max, "", 0)}) | ${f(res.msgsPerSec.mean, "", 2)} | ${
    f(res.connections.mean, "", 1)
  } (max ${res.connections.max}) | ${f(sus === null ? null : sus / 1000, "s", 1)} | ${
    f(det === null ? null : det / 1000, "s", 1)
  } | ${res.falseDead} / ${res.falseSuspect} | ${f(wallS, "s", 1)} |`;
}

/** Runs the simulation at each size and returns the headline rows. */
export async function run(opts: PartOptions): Promise<PartResult> {
  const sizes = opts.quick ? [50, 200] : [50, 200, 1000];
  const results: Array<ScenarioResult & { wallS: number }> = [];
  const lines = [
    "| peers | converge after last join | bytes/s per peer | msgs/s per peer | connections per peer (10 s) | first suspicion | all mark dead | false dead / false suspect | wall |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  for (const n of sizes) {
    const t0 = performance.now();
    const res = runScenario({
      n,
      kills: opts.quick ? 1 : 3,
      windowMs: opts.quick ? 10_000 : 30_000,
      settleMs: opts.quick ? 10_000 : 20_000,
    });
    const wallS = (performance.now() - t0) / 1000;
    results.push({ ...res, wallS });
    lines.push(row(res, wallS));
    log(`  · ${n} peers: ${lines.at(-1)}`);
  }
  log(["", ...lines].join("\n"));
  const small = results[0]!;
  const big = results.at(-1)!;
  const ratio = (a: number, b: number) => a / b;
  const flat = (x: number) => x >= 0.75 && x <= 1.25;
  const bytesRatio = ratio(big.bytesPerSec.mean, small.bytesPerSec.mean);
  const connRatio = ratio(big.connections.mean, small.connections.mean);
  const detSmall = median(small.detections.map((d) => d.allDeadMs));
  const detBig = median(big.detections.map((d) => d.allDeadMs));
  const logRatio = Math.log(big.n) / Math.log(small.n);
  const detRatio = detSmall && detBig ? detBig / detSmall : NaN;
  const span = `${small.n} → ${big.n} peers`;
  const headlines: Headline[] = [
    {
      part: "sim",
      metric: `SWIM bytes/s per peer, steady (${span})`,
      virgo: `${f(small.bytesPerSec.mean, "", 0)} → ${f(big.bytesPerSec.mean, "", 0)} B/s`,
      baseline: "",
      ratio: `×${bytesRatio.toFixed(2)}`,
      target: "flat ±25%",
      ok: flat(bytesRatio),
    },
    {
      part: "sim",
      metric: `SWIM connections per peer, 10 s window (${span})`,
      virgo: `${f(small.connections.mean, "", 1)} → ${f(big.connections.mean, "", 1)}`,
      baseline: "",
      ratio: `×${connRatio.toFixed(2)}`,
      target: "flat ±25%",
      ok: flat(connRatio),
    },
    {
      part: "sim",
      metric: `SWIM time until every peer marks a killed peer dead (${span})`,
      virgo: `${f((detSmall ?? NaN) / 1000, "s", 1)} → ${f((detBig ?? NaN) / 1000, "s", 1)}`,
      baseline: "",
      ratio: `×${detRatio.toFixed(2)}`,
      target: `≤ ×${logRatio.toFixed(2)} (ln N ratio)`,
      ok: detRatio <= logRatio * 1.05,
    },
    {
      part: "sim",
      metric: `SWIM convergence after the last join (${span})`,
      virgo: results.map((x) => f(x.convergeMs === null ? null : x.convergeMs / 1000, "s", 1)).join(
        " / ",
      ),
      baseline: "",
      ratio: "",
      target: "",
    },
    {
      part: "sim",
      metric: "SWIM live peers falsely declared dead (no loss)",
      virgo: String(results.reduce((a, x) => a + x.falseDead, 0)),
      baseline: "",
      ratio: "",
      target: "0",
      ok: results.every((x) => x.falseDead === 0),
    },
  ];
  const data = {
    setup: {
      latencyMs: [0.2, 2],
      metaBytes: 100,
      seeds: 3,
      joinSpacingMs: 10,
      windowS: opts.quick ? 10 : 30,
      connWindowS: 10,
      kills: opts.quick ? 1 : 3,
    },
    table: lines.join("\n"),
    runs: results.map((x) => ({
      ...x,
      bytesPerSec: {
        mean: r(x.bytesPerSec.mean, 1),
        p50: r(x.bytesPerSec.p50, 1),
        max: r(x.bytesPerSec.max, 1),
      },
      msgsPerSec: {
        mean: r(x.msgsPerSec.mean),
        p50: r(x.msgsPerSec.p50),
        max: r(x.msgsPerSec.max),
      },
      connections: {
        mean: r(x.connections.mean, 2),
        p50: x.connections.p50,
        max: x.connections.max,
      },
      wallS: r(x.wallS, 1),
    })),
    ratios: {
      bytes: r(bytesRatio),
      connections: r(connRatio),
      detection: r(detRatio),
      lnN: r(logRatio),
    },
  };
  await writeResult("sim", data);
  log("  wrote bench/results/sim.json");
  return { name: "sim", data, headlines };
}

if (import.meta.main) {
  const res = await run({ quick: Deno.args.includes("--quick") });
  console.log((res.data as { table: string }).table);
  console.log(JSON.stringify(res.headlines, null, 2));
}
