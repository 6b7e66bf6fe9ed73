/**
 * Bench part `catalog` (issue 10, (c)): 10,000 functions deployed across a 3-peer mesh.
 * Reports the deploy rate as the catalogue grows (first tenth against last tenth), the time
 * from the last deploy until every peer holds the same catalogue digest, the size of each
 * peer's load record before and after (its digest, never the list), and whether `/fn/<random>`
 * answers on every peer.
 *
 *   deno run -A bench/catalog.ts [--quick]      # --quick: 1,000 functions
 * @module
 */
import { encodeLoad } from "../p2p/meta.ts";
import type { LocalLoad } from "../p2p/mod.ts";
import {
  deploySource,
  installSignalHandlers,
  type PeerProcess,
  startMesh,
  stopAll,
  viewOf,
  waitFor,
} from "../test/_harness.ts";
import {
  f,
  type Headline,
  log,
  type PartOptions,
  type PartResult,
  r,
  writeResult,
} from "./_util.ts";

const CONCURRENCY = 6;

/** A peer's own load as its `/v1/peers` shows it. */
async function selfLoad(p: PeerProcess): Promise<LocalLoad> {
  const view = (await (await fetch(`${p.url}/v1/peers`)).json()).peers as Array<
    LocalLoad & { self: boolean }
  >;
  const { self: _s, ...load } = view.find((v) => v.self)!;
  return load as LocalLoad;
}

/** Bytes of the load a peer piggybacks on its SWIM messages and invoke responses. */
async function recordBytes(p: PeerProcess): Promise<number> {
  return encodeLoad(await selfLoad(p)).byteLength;
}

/** Runs the part and returns its headline rows. */
export async function run(opts: PartOptions): Promise<PartResult> {
  const n = opts.quick ? 1_000 : 10_000;
  const peers = await startMesh(3);
  try {
    const before = await Promise.all(peers.map(recordBytes));
    log(`  · load record before: ${before.join(" / ")} bytes`);
    const latencies: number[] = [];
    const doneAt: number[] = [];
    let next = 0;
    let failures = 0;
    const t0 = performance.now();
    const worker = async () => {
      for (let i = next++; i < n; i = next++) {
        const t = performance.now();
        const res = await deploySource(
          peers[i % 3]!,
          `f${i}`,
          `export default { fetch: () => new Response("fn ${i}") };`,
        );
        await res.body?.cancel();
        if (res.status !== 201) failures++;
        latencies.push(performance.now() - t);
        doneAt.push(performance.now() - t0);
        if (doneAt.length % 1000 === 0) {
          log(
            `  · ${doneAt.length} deployed, ${
              (doneAt.length / (doneAt.at(-1)! / 1000)).toFixed(1)
            }/s`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const deployS = (performance.now() - t0) / 1000;
    doneAt.sort((a, b) => a - b);
    const tenth = Math.floor(n / 10);
    const firstRate = tenth / (doneAt[tenth - 1]! / 1000);
    const lastRate = tenth / ((doneAt[n - 1]! - doneAt[n - 1 - tenth]!) / 1000);

    const tLast = performance.now();
    let digest = "";
    await waitFor(
      "every peer to hold one catalogue",
      async () => {
        const loads = await Promise.all(peers.map(selfLoad));
        const first = loads[0]!.catalog;
        const same = loads.every((l) => l.catalog.digest === first.digest && l.catalog.count === n);
        if (same) digest = first.digest;
        return same;
      },
      600_000,
      100,
    );
    const convergeS = (performance.now() - tLast) / 1000;
    const after = await Promise.all(peers.map(recordBytes));
    const views = await Promise.all(peers.map(async (p) => (await viewOf(p)).length));

    let answered = 0;
    let asked = 0;
    for (const p of peers) {
      for (let k = 0; k < 30; k++) {
        const i = Math.floor(Math.random() * n);
        asked++;
        const res = await fetch(`${p.url}/fn/f${i}`, { headers: { "x-virgo-route": "random" } });
        if (res.status === 200 && (await res.text()) === `fn ${i}`) answered++;
        else await res.body?.cancel();
      }
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    const data = {
      functions: n,
      peers: 3,
      concurrency: CONCURRENCY,
      deployFailures: failures,
      deploySeconds: r(deployS, 1),
      deployRatePerS: r(n / deployS, 1),
      deployRateFirstTenthPerS: r(firstRate, 1),
      deployRateLastTenthPerS: r(lastRate, 1),
      deployP50Ms: r(sorted[Math.floor(sorted.length / 2)]!, 1),
      deployP99Ms: r(sorted[Math.floor(sorted.length * 0.99)]!, 1),
      convergeAfterLastDeployS: r(convergeS, 2),
      digest,
      loadRecordBytesBefore: before,
      loadRecordBytesAfter: after,
      viewSizes: views,
      fnAnswered: answered,
      fnAsked: asked,
    };
    await writeResult("catalog", data);
    log(`  wrote bench/results/catalog.json: ${JSON.stringify(data)}`);
    const headlines: Headline[] = [
      {
        part: "catalog",
        metric: `deploys of ${
          n.toLocaleString("en-US")
        } functions over 3 peers (${CONCURRENCY} at once)`,
        virgo: `${f(n / deployS, "/s", 1)} (first tenth ${f(firstRate, "/s", 1)}, last ${
          f(lastRate, "/s", 1)
        })`,
        baseline: "",
        ratio: `last/first ×${(lastRate / firstRate).toFixed(2)}`,
        target: "deploys keep working",
        ok: failures === 0 && lastRate >= firstRate * 0.5,
      },
      {
        part: "catalog",
        metric: "every peer holds the same digest, after the last deploy",
        virgo: f(convergeS, "s", 2),
        baseline: "",
        ratio: "",
        target: "same digest",
        ok: digest !== "",
      },
      {
        part: "catalog",
        metric: `load record bytes, 0 → ${n.toLocaleString("en-US")} functions`,
        virgo: `${before.join("/")} → ${after.join("/")} B`,
        baseline: "",
        ratio: "",
        target: "same size",
        ok: after.every((b, i) => Math.abs(b - before[i]!) <= 16),
      },
      {
        part: "catalog",
        metric: "/fn/<random> answers on every peer; views",
        virgo: `${answered}/${asked}; views ${views.join("/")}`,
        baseline: "",
        ratio: "",
        target: "all; 3/3/3",
        ok: answered === asked && views.every((v) => v === 3),
      },
    ];
    return { name: "catalog", data, headlines };
  } finally {
    await stopAll(peers);
  }
}

if (import.meta.main) {
  installSignalHandlers();
  const res = await run({ quick: Deno.args.includes("--quick") });
  console.log(JSON.stringify(res.headlines, null, 2));
  Deno.exit(0);
}
