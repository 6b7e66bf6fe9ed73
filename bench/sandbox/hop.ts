/**
 * Micro-benchmark of the sandbox hop: a hello function through `pool.invoke` at concurrency 1
 * and 50 against a direct in-process call, cold starts (from a warm spare and from a fresh
 * process) and resident memory per function process. Prints JSON.
 *
 * Run: node_modules/.bin/deno run -A bench/sandbox/hop.ts [--seconds=3]
 *
 * @module
 */
import {
  createSandboxPool,
  type FunctionSpec,
  type Logger,
  type SandboxPool,
} from "../../runtime/sandbox/mod.ts";

const seconds = Number(Deno.args.find((a) => a.startsWith("--seconds="))?.slice(10) ?? 3);
const HELLO = `export default { fetch(req, env, ctx) {
  const name = new URL(req.url).searchParams.get("name") ?? "world";
  return new Response("hello " + name + " from " + ctx.peerId + "\\n");
} };`;
const logger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
let n = 0;
const spec = (): FunctionSpec => ({
  name: "hello",
  version: `bench-${++n}`,
  code: HELLO,
  vars: {},
  timeoutMs: 10_000,
  memoryMb: 128,
  kvNamespace: "hello",
});
const pool = (spares: number): SandboxPool =>
  createSandboxPool({
    peerId: "bench",
    logger,
    kv: () => Promise.resolve({ value: null }),
    denyNet: [],
    spares,
  });

const pct = (xs: number[], p: number) => xs.sort((a, b) => a - b)[Math.floor(xs.length * p)] ?? NaN;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** Runs `call` from `conc` loops for `seconds`; returns calls/s and latency percentiles in ms. */
async function load(conc: number, call: () => Promise<unknown>) {
  for (let i = 0; i < 2000; i++) await call(); // warm the JIT on both sides
  const lat: number[] = [];
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await call();
      lat.push(performance.now() - t);
    }
  }));
  const dt = (performance.now() - t0) / 1000;
  return {
    callsPerSec: Math.round(lat.length / dt),
    p50ms: r3(pct(lat, 0.5)),
    p99ms: r3(pct(lat, 0.99)),
  };
}

const direct = (await import("data:application/javascript," + encodeURIComponent(HELLO))).default;
const directCall = async () => {
  const res = await direct.fetch(new Request("http://fn/?name=x"), {}, { peerId: "bench" });
  await res.text();
};

const p = pool(1);
await p.start();
const s = spec();
await p.load(s);
const viaPool = async () => {
  const res = await p.invoke(s, new Request("http://fn/?name=x"), { requestId: "b" });
  await res.text();
};
const result: Record<string, unknown> = {};
result.direct_c1 = await load(1, directCall);
result.pool_c1 = await load(1, viaPool);
result.direct_c50 = await load(50, directCall);
result.pool_c50 = await load(50, viaPool);
result.ratio_c50 = r3(
  (result.pool_c50 as { callsPerSec: number }).callsPerSec /
    (result.direct_c50 as { callsPerSec: number }).callsPerSec,
);
result.added_p50_ms_c1 = r3(
  (result.pool_c1 as { p50ms: number }).p50ms - (result.direct_c1 as { p50ms: number }).p50ms,
);

// RSS of the function process after the load above (the watchdog samples it every 50 ms).
await new Promise((r) => setTimeout(r, 200));
const detail = p.stats().detail ?? [];
result.rss_mb_per_process = detail.map((d) => ({
  fn: d.fn ?? "spare",
  rssMb: r3(d.rssBytes / 1024 / 1024),
}));

/** load()+first invoke of a new version, `reps` times. */
async function cold(pl: SandboxPool, reps: number, waitSpare: boolean) {
  const loadMs: number[] = [];
  const firstMs: number[] = [];
  for (let i = 0; i < reps; i++) {
    while (waitSpare && pl.stats().spares < 1) await new Promise((r) => setTimeout(r, 10));
    const sp = spec();
    const t0 = performance.now();
    await pl.load(sp);
    const t1 = performance.now();
    await (await pl.invoke(sp, new Request("http://fn/"), { requestId: "c" })).text();
    const t2 = performance.now();
    loadMs.push(t1 - t0);
    firstMs.push(t2 - t1);
    pl.retire(sp.version);
  }
  return {
    loadP50ms: r3(pct(loadMs, 0.5)),
    firstInvokeP50ms: r3(pct(firstMs, 0.5)),
    totalP50ms: r3(pct(loadMs.map((l, i) => l + firstMs[i]!), 0.5)),
  };
}
result.cold_from_spare = await cold(p, 10, true);
await p.stop();
const fresh = pool(0);
await fresh.start();
result.cold_fresh_process = await cold(fresh, 10, false);
await fresh.stop();
console.log(JSON.stringify(result, null, 2));
