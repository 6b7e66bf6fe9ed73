/**
 * Request/response and invoke latency over the mesh, on loopback, two
 * in-process peers. Prints JSON.
 *
 *   deno run -A bench/p2p/rpc.ts [--calls 5000]
 *
 * Compares a new stream per call (dial protocol + one exchange + close)
 * with the mesh's pooled long-lived streams, at 1 and 32 concurrent
 * callers, and measures the invoke hop for a tiny body against calling
 * the same handler locally, and a 5 MB invoke echo (body streamed both
 * ways). `--invoke-only` skips the request/response cases.
 *
 * @module
 */
import { requestHandler } from "../../p2p/invoke.ts";
import { FrameReader, writeFrame } from "../../p2p/frames.ts";
import { startNode, waitFor } from "../../p2p/_testing.ts";

const callsArg = Deno.args.indexOf("--calls");
const CALLS = callsArg >= 0 ? Number(Deno.args[callsArg + 1]) : 5_000;
const PROTO = "/virgo/bench/1.0.0";

type Result = {
  calls: number;
  concurrency: number;
  p50Ms: number;
  p99Ms: number;
  callsPerSec: number;
};

async function run(
  concurrency: number,
  calls: number,
  one: () => Promise<unknown>,
): Promise<Result> {
  for (let i = 0; i < Math.min(200, calls); i++) await one(); // warm up
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next++ < calls) {
      const s = performance.now();
      await one();
      lat.push(performance.now() - s);
    }
  }));
  const elapsed = performance.now() - t0;
  lat.sort((x, y) => x - y);
  const q = (p: number) =>
    Number((lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0).toFixed(3));
  return {
    calls,
    concurrency,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    callsPerSec: Math.round(calls / (elapsed / 1000)),
  };
}

const tmp = await Deno.makeTempDir({ prefix: "virgo-bench-p2p-" });
const a = await startNode({ dataDir: `${tmp}/a` });
const b = await startNode({ dataDir: `${tmp}/b`, join: a.addrs() });
await waitFor(() => b.peers().length === 2, 5_000, "join");
const echo = (req: Uint8Array) => Promise.resolve(req);
await a.handle(PROTO, echo);
const handler = async (req: Request) =>
  new URL(req.url).pathname === "/echo" ? new Response(req.body) : new Response(await req.text());
await a.serveInvoke(requestHandler(handler));
const payload = new Uint8Array(64);

const streamPerCall = async () => {
  const s = await b.node.dialProtocol(a.node.peerId, PROTO);
  const reader = new FrameReader(s);
  await writeFrame(s, [payload]);
  const reply = await reader.next(1 << 20);
  if (reply === null || reply[0] !== 0) throw new Error("Bad reply");
  await s.close();
};
const pooled = () => b.request(a.peerId, PROTO, payload);
const invokeRemote = async () =>
  await (await b.invoke(a.peerId, new Request("http://fn/", { method: "POST", body: "hi" })))
    .text();
const invokeLocal = async () =>
  await (await handler(new Request("http://fn/", { method: "POST", body: "hi" }))).text();

const BIG = new Uint8Array(5 * 1024 * 1024);
const echoBig = async () => {
  const res = await b.invoke(a.peerId, new Request("http://fn/echo", { method: "PUT", body: BIG }));
  const got = (await res.arrayBuffer()).byteLength;
  if (got !== BIG.byteLength) throw new Error(`Echo returned ${got} bytes`);
};
const invokeOnly = Deno.args.includes("--invoke-only");

const results = {
  request: invokeOnly ? {} : {
    streamPerCall_c1: await run(1, CALLS, streamPerCall),
    streamPerCall_c32: await run(32, CALLS, streamPerCall),
    pooled_c1: await run(1, CALLS, pooled),
    pooled_c32: await run(32, CALLS, pooled),
  },
  invoke: {
    local_c1: await run(1, CALLS, invokeLocal),
    remote_c1: await run(1, CALLS, invokeRemote),
    remote_c32: await run(32, CALLS, invokeRemote),
    echo5MB: await run(1, 10, echoBig),
  },
  pools: b.poolStats(),
};
const hop = results.invoke.remote_c1.p50Ms - results.invoke.local_c1.p50Ms;
console.log(JSON.stringify({ ...results, invokeHopP50Ms: Number(hop.toFixed(3)) }, null, 2));
await b.stop();
await a.stop();
await Deno.remove(tmp, { recursive: true });
Deno.exit(0);
