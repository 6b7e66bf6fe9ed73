import { ok as assert } from "node:assert/strict";
import { redialDelay, toTrim } from "./connections.ts";
import { REDIAL_JITTER, REDIAL_MAX_MS, REDIAL_MIN_MS } from "./constants.ts";

Deno.test("redial delay doubles from 250 ms to a 10 s cap, within ±20 % jitter", () => {
  for (const r of [0, 0.5, 0.999]) {
    let prevBase = 0;
    for (let attempt = 0; attempt < 40; attempt++) {
      const base = Math.min(REDIAL_MAX_MS, REDIAL_MIN_MS * 2 ** attempt);
      const d = redialDelay(attempt, () => r);
      assert(
        d >= base * (1 - REDIAL_JITTER) - 1 && d <= base * (1 + REDIAL_JITTER) + 1,
        `attempt ${attempt}: ${d}`,
      );
      assert(base >= prevBase);
      prevBase = base;
    }
  }
  assert(redialDelay(0, () => 0.5) === REDIAL_MIN_MS);
  assert(redialDelay(100, () => 0.5) === REDIAL_MAX_MS);
});

/** A connection as `toTrim` sees it. */
const conn = (peer: string, protocols: string[] = []) => ({
  remotePeer: { toString: () => peer },
  streams: protocols.map((protocol) => ({ protocol })),
  status: "open" as const,
});

Deno.test("trim: nothing under the bound; past it, the least recently used idle peers go", () => {
  const now = 100_000;
  const conns = ["a", "b", "c", "d", "e"].map((p) => conn(p));
  const used = new Map([["a", 1_000], ["b", 5_000], ["c", 2_000], ["d", 3_000], ["e", 4_000]]);
  const trim = (max: number, keep = new Set<string>()) =>
    toTrim(conns as never[], used, keep, now, max, 10_000).map((c) =>
      (c as ReturnType<typeof conn>).remotePeer.toString()
    );
  assert(trim(5).length === 0);
  assert(JSON.stringify(trim(3)) === JSON.stringify(["a", "c"]));
  assert(JSON.stringify(trim(3, new Set(["a"]))) === JSON.stringify(["c", "d"]), "kept peers stay");
});

Deno.test("trim: a connection used lately, or with a stream of ours open, is never closed", () => {
  const now = 100_000;
  const conns = [
    conn("busy", ["/virgo/invoke/1.0.0", "/meshsub/1.1.0"]),
    conn("gossip-only", ["/meshsub/1.1.0", "/ipfs/id/1.0.0", "/virgo/swim/1.0.0"]),
    conn("recent"),
  ];
  const used = new Map([["busy", 0], ["gossip-only", 0], ["recent", now - 1_000]]);
  const out = toTrim(conns as never[], used, new Set(), now, 0, 10_000);
  assert(
    JSON.stringify(out.map((c) => (c as ReturnType<typeof conn>).remotePeer.toString())) ===
      JSON.stringify(["gossip-only"]),
  );
});
