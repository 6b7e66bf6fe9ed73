/**
 * Part 1 — a single peer.
 *
 * - Throughput and latency: bare hono on Deno.serve (`_baseline.ts`, its own
 *   process), Cloudflare's workerd serving the same hello (`_workerd.ts`,
 *   installed on demand; skipped when it cannot be) and `GET /fn/hello`
 *   through a full peer (deployed with the CLI), under `wrk --latency` at -c1
 *   and -c50, alternating rounds; issue 12's targets beside each figure.
 *
 * Cold start and memory are part `density` (density.ts).
 *
 * Run alone: deno run -A bench/http.ts [--quick]
 * @module
 */
import { bundle } from "../runtime/catalog/mod.ts";
import {
  deploy,
  installSignalHandlers,
  startPeer,
  stopAll,
  stopEverything,
} from "../test/_harness.ts";
import { startBaseline } from "./_baseline.ts";
import { installWorkerd, startWorkerd } from "./_workerd.ts";
import { alternate, type Side, type Target } from "./_wrk.ts";
import {
  f,
  type Headline,
  log,
  type PartOptions,
  type PartResult,
  r,
  ROOT,
  step,
  writeResult,
} from "./_util.ts";

/** Issue 12's targets for the local invoke path, each against a baseline of the same run. */
const TARGET = {
  /** Virgo req/s at 50 connections over bare hono's. */
  vsBareC50: 0.3,
  /** Virgo req/s at 50 connections over workerd's. */
  vsWorkerdC50: 1.5,
  /** Virgo p50 at one connection minus bare hono's, in ms. */
  addedP50C1Ms: 0.07,
} as const;

/** Bare hono, workerd (when it runs) and Virgo's `/fn/hello`, alternating rounds, at `c` connections. */
async function invokeSpeed(
  targets: Record<string, Target>,
  c: number,
  seconds: number,
  rounds: number,
) {
  const sides = await alternate(targets, { connections: c, seconds, rounds });
  const bare = sides.bare!;
  const virgo = sides.virgo!;
  const workerd = sides.workerd;
  const perRound = (b: Side) => b.rounds.map((x, i) => r(virgo.rounds[i]!.reqPerSec / x.reqPerSec));
  const p50 = (s: Side | undefined) => s?.p50ms ?? null;
  return {
    connections: c,
    bare,
    workerd: workerd ?? null,
    virgo,
    ratioToBare: r(virgo.reqPerSec / bare.reqPerSec),
    ratioToWorkerd: workerd ? r(virgo.reqPerSec / workerd.reqPerSec) : null,
    p50AddedToBareMs: p50(virgo) !== null && p50(bare) !== null
      ? r(p50(virgo)! - p50(bare)!, 4)
      : null,
    p50AddedToWorkerdMs: p50(virgo) !== null && p50(workerd) !== null
      ? r(p50(virgo)! - p50(workerd)!, 4)
      : null,
    perRoundRatioToBare: perRound(bare),
    perRoundRatioToWorkerd: workerd ? perRound(workerd) : null,
  };
}

/** The headline rows of one {@linkcode invokeSpeed} run, with the targets that apply at `c`. */
function invokeHeadlines(
  v: Awaited<ReturnType<typeof invokeSpeed>>,
  workerdSkipped: string | undefined,
): Headline[] {
  const c = v.connections;
  const wdNote = workerdSkipped ? `skipped: ${workerdSkipped.slice(0, 60)}` : "—";
  const lat = (s: Side | null) => s ? `${f(s.p50ms, "ms", 3)} (${f(s.p99ms, "", 2)})` : wdNote;
  const rows: Headline[] = [
    {
      part: "http",
      metric: `/fn/hello req/s, c${c}, vs bare hono`,
      virgo: f(v.virgo.reqPerSec),
      baseline: f(v.bare.reqPerSec),
      ratio: f(v.ratioToBare),
      target: c === 50 ? `≥ ${TARGET.vsBareC50}` : "",
      ok: c === 50 ? (v.ratioToBare ?? 0) >= TARGET.vsBareC50 : undefined,
    },
    {
      part: "http",
      metric: `/fn/hello req/s, c${c}, vs workerd`,
      virgo: f(v.virgo.reqPerSec),
      baseline: v.workerd ? `workerd ${f(v.workerd.reqPerSec)}` : wdNote,
      ratio: f(v.ratioToWorkerd),
      target: c === 50 ? `≥ ${TARGET.vsWorkerdC50}×` : "",
      ok: c === 50 && v.workerd ? (v.ratioToWorkerd ?? 0) >= TARGET.vsWorkerdC50 : undefined,
    },
    {
      part: "http",
      metric: `/fn/hello p50 (p99), c${c}, vs bare hono`,
      virgo: lat(v.virgo),
      baseline: lat(v.bare),
      ratio: `+${f(v.p50AddedToBareMs, "ms", 3)}`,
      target: c === 1 ? `≤ +${TARGET.addedP50C1Ms} ms` : "",
      ok: c === 1 ? (v.p50AddedToBareMs ?? Infinity) <= TARGET.addedP50C1Ms : undefined,
    },
    {
      part: "http",
      metric: `/fn/hello p50 (p99), c${c}, vs workerd`,
      virgo: lat(v.virgo),
      baseline: v.workerd ? `workerd ${lat(v.workerd)}` : wdNote,
      ratio: v.p50AddedToWorkerdMs === null
        ? "—"
        : `${v.p50AddedToWorkerdMs > 0 ? "+" : ""}${f(v.p50AddedToWorkerdMs, "ms", 3)}`,
      target: c === 1 ? "≤ workerd's" : "",
      ok: c === 1 && v.workerd ? (v.p50AddedToWorkerdMs ?? Infinity) <= 0 : undefined,
    },
  ];
  return rows;
}

/** Runs part 1. */
export async function run(opts: PartOptions): Promise<PartResult> {
  const data: Record<string, unknown> = {};
  const headlines: Headline[] = [];
  const seconds = opts.quick ? 2 : 5;
  const rounds = opts.quick ? 1 : 2;
  data.config = { seconds, rounds, warmupSeconds: 1, wrkThreads: 1 };

  // Throughput & latency: bare hono, workerd and Virgo, alternating.
  try {
    const base = await startBaseline();
    const workerd = await step(data, "workerd", async () => {
      const got = await installWorkerd();
      if ("skipped" in got) return got;
      const w = await startWorkerd(got.bin, (await bundle(`${ROOT}functions/hello.ts`)).code);
      return { version: w.version, url: w.url, pid: w.pid, server: w };
    });
    const wd = workerd && "server" in workerd ? workerd.server : undefined;
    if (workerd && "server" in workerd) data.workerd = { ...workerd, server: undefined };
    const peer = await startPeer({ spares: 1 });
    data.peerId = peer.peerId;
    await step(data, "deploy_hello_cli", async () => {
      const t0 = performance.now();
      const out = await deploy(peer, "hello", "hello");
      return { ...out, ms: r(performance.now() - t0, 1) };
    });
    const targets: Record<string, Target> = { bare: { url: `${base.url}/` } };
    if (wd) targets.workerd = { url: `${wd.url}/` };
    targets.virgo = { url: `${peer.url}/fn/hello` };
    for (const c of [1, 50]) {
      const v = await step(data, `hello_c${c}`, () => invokeSpeed(targets, c, seconds, rounds));
      if (v) {
        headlines.push(
          ...invokeHeadlines(v, workerd && "skipped" in workerd ? workerd.skipped : undefined),
        );
      }
    }
    await wd?.stop();
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
