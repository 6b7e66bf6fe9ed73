/**
 * The small form of `bench/sim.ts` (issue 10, 4b): the same scenario at 20 and 80 peers, and a
 * peer whose acks come too late for a while.
 */
import { equal, ok } from "node:assert/strict";
import { createSimCluster } from "./_sim.ts";
import { runScenario } from "./_scenario.ts";

Deno.test("sim: 20 and 80 peers converge, detect a killed peer everywhere, no false death, flat bytes", () => {
  const small = runScenario({ n: 20, kills: 1, settleMs: 10_000, windowMs: 20_000 });
  const big = runScenario({ n: 80, kills: 1, settleMs: 10_000, windowMs: 20_000 });
  for (const res of [small, big]) {
    ok(res.convergeMs !== null, `${res.n} peers never converged`);
    ok(res.convergeMs < 30_000, `${res.n} peers converged only after ${res.convergeMs} ms`);
    equal(res.detections.length, 1);
    const d = res.detections[0]!;
    ok(d.firstSuspectMs !== null && d.allDeadMs !== null, `${res.n} peers: ${JSON.stringify(d)}`);
    // Suspicion timeout 4 × log10(N) s plus probing and spreading: well under a minute.
    ok(d.allDeadMs < 30_000, `${res.n} peers: everyone marked it dead after ${d.allDeadMs} ms`);
    equal(res.falseDead, 0);
    // One ping and one ack a period, whatever the size.
    ok(Math.abs(res.msgsPerSec.mean - 2) < 0.2, `${res.msgsPerSec.mean} msgs/s`);
  }
  const ratio = big.bytesPerSec.mean / small.bytesPerSec.mean;
  ok(
    ratio >= 0.75 && ratio <= 1.25,
    `bytes/s per peer: ${small.bytesPerSec.mean} at 20, ${big.bytesPerSec.mean} at 80`,
  );
});

Deno.test("sim: a peer suspected because its acks were late refutes, and stays a member", () => {
  const c = createSimCluster({ n: 20, seed: 11 });
  for (let i = 0; i < 20; i++) c.start(i, [0, 1, 2]);
  c.scheduler.run(10_000);
  ok(c.converged());
  const slow = c.peers[7]!;
  const seen = { suspect: 0, leave: 0, alive: 0 };
  c.onEvent((_p, ev) => {
    if (ev.member.id !== slow.id) return;
    if (ev.type === "suspect") seen.suspect++;
    if (ev.type === "leave") seen.leave++;
    if (ev.type === "alive") seen.alive++;
  });
  // Everything it sends (its acks too) arrives 1.5 s late: past the probe period, well within the
  // suspicion timeout (4 × log10(20) s = 5.2 s).
  slow.slowBy = 1_500;
  c.scheduler.run(c.scheduler.now() + 4_000);
  slow.slowBy = 0;
  c.scheduler.run(c.scheduler.now() + 30_000);
  ok(seen.suspect > 0, "nobody suspected the slow peer: the test proves nothing");
  ok(slow.swim.incarnation > 0, "the slow peer never refuted");
  equal(seen.leave, 0);
  ok(seen.alive > 0);
  ok(c.converged());
  for (const p of c.peers) if (p !== slow) equal(p.swim.get(slow.id)?.state, "alive");
});
