/**
 * `deno task fuzz` — the fuzz suite of test/fuzz_test.ts, run long: every
 * property with 10,000 cases by default (the app's routes, every wire
 * decoder, the mesh's servers fed random frames), then memory compared with
 * the baseline after a full garbage collection.
 *
 *   deno run -A bench/fuzz.ts [--runs 10000] [--seed 1] [--only <suite>] [--max-growth-mb 64]
 *
 * Prints each suite's cases, time and what its cases met, and a memory
 * table; exits 1 when a property fails (the counterexample and the seed to
 * replay it are printed) or memory stays above the baseline by more than
 * `--max-growth-mb` after a collection.
 * @module
 */
import { parseArgs } from "node:util";
import { SUITES } from "../test/fuzz_test.ts";

const USAGE =
  "Usage: deno run -A bench/fuzz.ts [--runs <n>] [--seed <n>] [--only <suite>] [--max-growth-mb <n>]";

const mb = (n: number) => Math.round(n / 1024 / 1024 * 10) / 10;

/** Heap and RSS after a full collection (the runner re-executes itself with --expose-gc). */
function settled(): { heapMb: number; rssMb: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) gc?.();
  const m = Deno.memoryUsage();
  return { heapMb: mb(m.heapUsed), rssMb: mb(m.rss) };
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: Deno.args,
      options: {
        runs: { type: "string", default: "10000" },
        seed: { type: "string", default: "1" },
        only: { type: "string" },
        "max-growth-mb": { type: "string", default: "64" },
        help: { type: "boolean" },
      },
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const runs = Number(args.runs);
  const seed = Number(args.seed);
  const maxGrowth = Number(args["max-growth-mb"]);
  if (![runs, seed, maxGrowth].every((n) => Number.isInteger(n) && n >= 0) || runs === 0) {
    console.error(`--runs, --seed and --max-growth-mb take whole numbers\n${USAGE}`);
    return 2;
  }
  const suites = SUITES.filter((s) => args.only === undefined || s.name === args.only);
  if (suites.length === 0) {
    console.error(`No suite named ${args.only}: ${SUITES.map((s) => s.name).join(", ")}`);
    return 2;
  }

  const baseline = settled();
  console.log(`fuzz: ${runs} cases per property, seed ${seed}`);
  console.log(`memory at start: heap ${baseline.heapMb} MB, rss ${baseline.rssMb} MB`);
  let failed = 0;
  let peakRss = baseline.rssMb;
  const rows: string[] = [];
  for (const suite of suites) {
    const t0 = performance.now();
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, mb(Deno.memoryUsage().rss));
    }, 100);
    try {
      const result = await suite.run({ runs, seed });
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      const after = settled();
      rows.push(
        `${suite.name.padEnd(14)} ${String(result.cases).padStart(7)} cases ${s.padStart(7)} s` +
          `   heap ${after.heapMb} MB, rss ${after.rssMb} MB`,
      );
      console.log(`\n${suite.name}: ${result.cases} cases in ${s} s`);
      for (const [what, n] of Object.entries(result.notes).sort()) {
        console.log(`  ${String(n).padStart(7)}  ${what}`);
      }
    } catch (err) {
      failed++;
      rows.push(`${suite.name.padEnd(14)} FAILED`);
      console.log(`\n${suite.name}: FAILED (replay with --seed ${seed} --only "${suite.name}")`);
      console.log(String((err as Error)?.stack ?? err));
    } finally {
      clearInterval(sampler);
    }
  }
  const end = settled();
  const growth = Math.round((end.heapMb - baseline.heapMb) * 10) / 10;
  console.log(`\n${rows.join("\n")}`);
  console.log(
    `memory: heap ${baseline.heapMb} → ${end.heapMb} MB after collection (${
      growth >= 0 ? "+" : ""
    }${growth} MB), rss ${baseline.rssMb} → ${end.rssMb} MB, peak rss ${peakRss} MB`,
  );
  if (growth > maxGrowth) {
    console.log(`FAILED: heap stayed ${growth} MB above its baseline (bound ${maxGrowth} MB)`);
    failed++;
  }
  console.log(failed === 0 ? "fuzz: all properties held" : `fuzz: ${failed} failure(s)`);
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) {
  // A full collection needs --expose-gc, which `deno run` cannot switch on from inside: re-run once with it.
  if ((globalThis as { gc?: unknown }).gc === undefined && !Deno.env.get("VIRGO_FUZZ_CHILD")) {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--v8-flags=--expose-gc",
        new URL(import.meta.url).pathname,
        ...Deno.args,
      ],
      env: { VIRGO_FUZZ_CHILD: "1" },
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    // The child is ours: stop it with us.
    const stop = () => child.kill("SIGTERM");
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    Deno.exit((await child.status).code);
  }
  Deno.exit(await main());
}
