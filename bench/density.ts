/**
 * Part `density` — memory and cold start on one peer.
 *
 * - Cold start: deploy (PUT /v1/functions/x) → first GET /fn/x, from a warm
 *   generic spare (--spares 1) and from a fresh process (--spares 0).
 * - Memory: RSS of each function process after deploying and calling N.
 *
 * Run alone: deno run -A bench/density.ts [--quick]
 * @module
 */
import { bundle } from "../runtime/catalog/mod.ts";
import {
  installSignalHandlers,
  type PeerProcess,
  startPeer,
  stopAll,
  stopEverything,
  waitFor,
} from "../test/_harness.ts";
import {
  f,
  type Headline,
  log,
  type PartOptions,
  type PartResult,
  pct,
  r,
  ROOT,
  rssMb,
  sh,
  sleep,
  step,
  summary,
  writeResult,
} from "./_util.ts";

interface SandboxDetail {
  pid?: number;
  fn?: string;
  inflight: number;
  rssBytes: number;
}
interface Status {
  sandbox: { processes: number; spares: number; inflight: number; detail?: SandboxDetail[] };
}

async function status(peer: PeerProcess): Promise<Status> {
  const res = await fetch(`${peer.url}/v1/status`);
  if (!res.ok) throw new Error(`GET /v1/status: ${res.status}`);
  return await res.json() as Status;
}

/** Bundled hello with a unique comment, so each deploy is a new version (a new process). */
async function helloVariants(): Promise<(tag: string) => string> {
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
async function coldStarts(
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

/** Memory per function process after deploying and calling `n` functions. */
async function memory(peer: PeerProcess, n: number, variant: (tag: string) => string) {
  const names = Array.from({ length: n }, (_, i) => `mem-${i}`);
  for (const name of names) await deployHttp(peer, name, variant(name));
  for (const name of names) {
    for (let i = 0; i < 50; i++) await (await fetch(`${peer.url}/fn/${name}?name=m${i}`)).text();
  }
  await sleep(500); // the sandbox watchdog samples RSS periodically
  const st = await status(peer);
  const detail = st.sandbox.detail ?? [];
  const fromStatus = detail.filter((d) => d.fn && names.some((nm) => d.fn!.startsWith(`${nm}@`)))
    .map((d) => ({ fn: d.fn, pid: d.pid, rssMb: r(d.rssBytes / 1048576, 1) }));
  const spares = detail.filter((d) => !d.fn).map((d) => ({
    pid: d.pid,
    rssMb: r(d.rssBytes / 1048576, 1),
  }));
  // Cross-check with /proc: the peer's child processes.
  const kids = (await sh("pgrep", ["-P", String(peer.pid)])).split(/\s+/).filter(Boolean).map(
    Number,
  );
  const procRss: Array<{ pid: number; rssMb: number | null }> = [];
  for (const k of kids) procRss.push({ pid: k, rssMb: r(await rssMb(k), 1) });
  const fnRss = fromStatus.map((x) => x.rssMb ?? 0).filter((x) => x > 0);
  const procByPid = new Map(procRss.map((p) => [p.pid, p.rssMb]));
  const fnRssProc = fromStatus.map((x) => (x.pid !== undefined ? procByPid.get(x.pid) : null) ?? 0)
    .filter((x) => x > 0);
  const perFn = fnRss.length ? fnRss : fnRssProc;
  return {
    functions: n,
    source: fnRss.length
      ? "GET /v1/status .sandbox.detail[].rssBytes"
      : "/proc/<pid>/status VmRSS of the peer's children",
    perFunctionProcess: fromStatus,
    spares,
    peerChildrenProc: procRss,
    peerMainRssMb: r(await rssMb(peer.pid), 1),
    mbPerFunctionMean: perFn.length ? r(perFn.reduce((a, b) => a + b, 0) / perFn.length, 1) : null,
    mbPerFunctionP50: perFn.length ? r(pct([...perFn], 0.5), 1) : null,
  };
}

/** Runs part `density`. */
export async function run(opts: PartOptions): Promise<PartResult> {
  const data: Record<string, unknown> = {};
  const headlines: Headline[] = [];
  const reps = opts.quick ? 5 : 10;
  data.config = { coldReps: reps };
  const variant = await helloVariants();

  try {
    const peer = await startPeer({ spares: 1 });
    data.peerId = peer.peerId;
    // Memory per function process.
    const mem = await step(data, "memory", () => memory(peer, 5, variant)) as
      | Awaited<ReturnType<typeof memory>>
      | undefined;
    if (mem) {
      headlines.push({
        part: "density",
        metric: "RSS per function process (5 fns)",
        virgo: f(mem.mbPerFunctionMean, "MB", 1),
        baseline: `peer ${f(mem.peerMainRssMb, "MB", 1)}`,
        ratio: "",
        target: "",
      });
    }
    // Cold start from a warm spare.
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
