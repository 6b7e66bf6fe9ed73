/**
 * `npm run chaos` — a chaos run against real peers on loopback: a mixed load
 * recorded as a history while peers are killed and restarted, paused past
 * the failure timeout, and a majority taken down; then the history is
 * checked (lost acknowledged writes, linearizability per key, counters).
 *
 *   deno run -A bench/chaos.ts [--peers 3|5] [--duration 60] [--seed 1]
 *     [--faults kill,pause,majority,…] [--clients 8] [--history <file.json>]
 *
 * Writes bench/results/chaos.json (the report with machine info) and prints
 * a summary; `--history` also writes every recorded operation, to check
 * again offline. Exits 1 when the run found a problem. Every process started
 * is stopped, also on Ctrl-C (a second one stops them at once).
 * @module
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { type FaultKind, formatReport, runChaos } from "../test/_chaos.ts";
import { stopEverything } from "../test/_harness.ts";
import { log, writeResult } from "./_util.ts";

const Args = z.object({
  peers: z.coerce.number().int().refine((n) => n === 3 || n === 5, "3 or 5"),
  duration: z.coerce.number().positive().max(3600),
  seed: z.coerce.number().int().nonnegative(),
  faults: z.string().transform((s) => s.split(",").filter(Boolean)).pipe(
    z.array(z.enum(["kill", "pause", "majority"])),
  ),
  clients: z.coerce.number().int().min(1).max(64),
  history: z.string().optional(),
});

const USAGE = "Usage: deno run -A bench/chaos.ts [--peers 3|5] [--duration <s>] [--seed <n>] " +
  "[--faults kill,pause,majority,…] [--clients <n>] [--history <file.json>]";

async function main(): Promise<number> {
  let raw;
  try {
    raw = parseArgs({
      args: Deno.args,
      options: {
        peers: { type: "string", default: "3" },
        duration: { type: "string", default: "60" },
        seed: { type: "string", default: "1" },
        faults: { type: "string", default: "kill,pause,majority,pause,kill" },
        clients: { type: "string", default: "8" },
        history: { type: "string" },
        help: { type: "boolean" },
      },
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (raw.help) {
    console.log(USAGE);
    return 0;
  }
  const parsed = Args.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    console.error(`Bad --${String(issue.path[0])}: ${issue.message}\n${USAGE}`);
    return 2;
  }
  const args = parsed.data;
  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) {
      log("quitting: every process is killed after 1 s");
      stopEverything({ graceMs: 1_000 }).finally(() => Deno.exit(130));
      return;
    }
    log("stopping: the load ends, then every peer is stopped (Ctrl-C again to quit at once)");
    abort.abort();
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const { report, history } = await runChaos({
      peers: args.peers,
      durationMs: args.duration * 1000,
      seed: args.seed,
      faults: args.faults as FaultKind[],
      clients: args.clients,
      log,
      signal: abort.signal,
    });
    await writeResult("chaos", report as unknown as Record<string, unknown>);
    if (args.history) await Deno.writeTextFile(args.history, JSON.stringify(history));
    console.log(formatReport(report));
    log("wrote bench/results/chaos.json");
    return report.ok ? 0 : 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

if (import.meta.main) Deno.exit(await main());
