/**
 * Chaos in short: three real peers under a mixed recorded load while one is
 * killed and restarted and one is paused past the failure timeout; the
 * history must show no lost acknowledged write and no linearizability
 * anomaly. The long form is `npm run chaos` (`bench/chaos.ts`).
 */
import assert from "node:assert/strict";
import { formatReport, runChaos } from "./_chaos.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  "the chaos runner: a run without faults is clean and leaves nothing running",
  opts,
  async () => {
    const { report, history } = await runChaos({
      peers: 3,
      faults: [],
      durationMs: 4_000,
      clients: 4,
    });
    assert.ok(history.length > 100, `only ${history.length} operations`);
    assert.deepEqual(report.leftover, []);
    assert.equal(report.lost.count, 0, formatReport(report));
    assert.deepEqual(report.linearizability.anomalies, [], formatReport(report));
    assert.ok(report.ok, formatReport(report));
  },
);

Deno.test({
  ...opts,
  name: "a killed and a paused peer lose no acknowledged write and break no key",
  async fn() {
    const { report } = await runChaos({
      peers: 3,
      faults: ["kill", "pause"],
      durationMs: 18_000,
      seed: 1,
    });
    const summary = formatReport(report);
    assert.deepEqual(report.faults.map((f) => f.error ?? "ok"), ["ok", "ok"], summary);
    assert.equal(report.lost.count, 0, summary);
    assert.equal(report.lost.unreadable, 0, summary);
    assert.deepEqual(report.linearizability.anomalies, [], summary);
    assert.ok(report.counters.every((c) => c.ok), summary);
    assert.deepEqual(report.leftover, [], summary);
  },
});
