/**
 * `npm run bench` — every benchmark, each against a baseline measured in the
 * same run, because the machine is small and shared: read the ratios.
 *
 *   deno run -A bench/run.ts [http] [density] [mesh] [scale] [kv] [sim] [catalog] [--quick]
 *
 * Parts: `http` (single peer vs bare hono), `density` (memory per peer and function, cold
 * start), `mesh`
 * (remote hop, stream pooling, load balancing under skew, idle cost), `scale`
 * (50 real peers: convergence, 2 minutes idle — CPU, bytes and connections per peer),
 * `kv` (LevelDB vs Store vs quorum; HTTP GET under wrk; rebalance takeover), `sim` (SWIM
 * membership at 50/200/1,000 simulated peers: bytes, connections, detection time), `catalog`
 * (10,000 functions over 3 peers: deploy rate, digest convergence, load record size, calls).
 * Each part writes bench/results/<part>.json; the headline table goes to
 * stdout and bench/results/summary.md. A part that fails records its error
 * and the run goes on. Every process started is stopped, also on Ctrl-C.
 * @module
 */
import { installSignalHandlers, runningCount, stopEverything } from "../test/_harness.ts";
import { haveWrk } from "./_wrk.ts";
import { errorInfo, type Headline, log, machineInfo, type PartOptions, type PartResult, RESULTS, writeResult } from "./_util.ts";

const PARTS: Record<string, () => Promise<{ run(o: PartOptions): Promise<PartResult> }>> = {
  http: () => import("./http.ts"),
  density: () => import("./density.ts"),
  mesh: () => import("./mesh.ts"),
  scale: () => import("./mesh_scale.ts"),
  kv: () => import("./kv_http.ts"),
  sim: () => import("./sim.ts"),
  catalog: () => import("./catalog.ts"),
};

/** Parts that need no wrk (nothing over HTTP). */
const NO_WRK = new Set(["sim", "catalog"]);

function table(rows: Headline[]): string {
  const head = "| part | metric | Virgo | baseline | ratio / added | target | met |\n|---|---|---|---|---|---|---|";
  const body = rows.map((h) =>
    `| ${h.part} | ${h.metric} | ${h.virgo} | ${h.baseline} | ${h.ratio} | ${h.target} | ${
      h.ok === undefined ? "" : h.ok ? "yes" : "**no**"
    } |`
  );
  return [head, ...body].join("\n");
}

async function main(): Promise<number> {
  const args = Deno.args;
  const quick = args.includes("--quick");
  const unknown = args.filter((a) => !a.startsWith("--") && !(a in PARTS));
  if (unknown.length || args.includes("--help")) {
    console.error(`Usage: deno run -A bench/run.ts [${Object.keys(PARTS).join("] [")}] [--quick]`);
    return unknown.length ? 2 : 0;
  }
  const chosen = args.filter((a) => a in PARTS);
  const parts = chosen.length ? chosen : Object.keys(PARTS);
  if (parts.some((p) => !NO_WRK.has(p)) && !await haveWrk()) {
    console.error("wrk is not installed: apt-get install wrk");
    return 1;
  }
  installSignalHandlers();
  const t0 = performance.now();
  const machine = await machineInfo();
  log(`Virgo bench: ${parts.join(", ")}${quick ? " (quick)" : ""} on ${machine.cores} cores, load ${
    (machine.loadavg as number[]).join(" ")
  }`);
  const headlines: Headline[] = [];
  const timings: Record<string, number> = {};
  let failed = 0;
  for (const name of parts) {
    const tp = performance.now();
    log(`\n## ${name}`);
    try {
      const mod = await PARTS[name]!();
      const res = await mod.run({ quick });
      headlines.push(...res.headlines);
    } catch (err) {
      failed++;
      log(`  part ${name} failed: ${errorInfo(err).error}`);
      await writeResult(name, { ...errorInfo(err) }).catch(() => {});
      headlines.push({ part: name, metric: "(part failed)", virgo: errorInfo(err).error.slice(0, 80), baseline: "", ratio: "", target: "" });
    } finally {
      await stopEverything({ graceMs: 3_000 });
    }
    timings[name] = Math.round((performance.now() - tp) / 100) / 10;
    log(`## ${name}: ${timings[name]} s`);
  }
  const totalS = Math.round((performance.now() - t0) / 100) / 10;
  const md = [
    `# Virgo bench — ${new Date().toISOString()}`,
    "",
    `Command: \`deno run -A bench/run.ts ${args.join(" ")}\`${quick ? " (quick)" : ""} · total ${totalS} s (${
      Object.entries(timings).map(([k, v]) => `${k} ${v} s`).join(", ")
    })`,
    `Machine: ${machine.cores} cores, ${machine.cpu}, Deno ${(machine.versions as Record<string, string>).deno}, load avg at start ${
      (machine.loadavg as number[]).join(" ")
    }. Server and load generator share these cores: compare ratios, not absolutes.`,
    "",
    table(headlines),
    "",
  ].join("\n");
  await Deno.mkdir(RESULTS, { recursive: true });
  await Deno.writeTextFile(`${RESULTS}summary.md`, md);
  console.log(md);
  if (runningCount() > 0) log(`warning: ${runningCount()} process(es) still running after the run`);
  return failed ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  console.error(err);
} finally {
  await stopEverything({ graceMs: 3_000 });
}
Deno.exit(code);
