/**
 * The simulation scenario shared by `bench/sim.ts` and `sim_test.ts`: N peers join through a few
 * seeds one after another, the mesh converges, traffic is measured in steady state, then peers
 * are killed one at a time and the time until the mesh notices is measured.
 *
 * @module
 */
import { createSimCluster, type SimPeer } from "./_sim.ts";
import type { SwimConfig } from "./types.ts";

/** What to simulate. */
export interface ScenarioOptions {
  n: number;
  /** @default 1 */
  seed?: number;
  /** Peers 0..seeds-1 are the seeds; each joiner asks one of them. @default 3 */
  seeds?: number;
  /** A new peer starts every this many ms. @default 10 */
  joinSpacingMs?: number;
  /** After convergence, wait this long (news drains) before measuring. @default 20000 */
  settleMs?: number;
  /** Steady-state measuring window. @default 30000 */
  windowMs?: number;
  /** "Connections" are the distinct peers a peer exchanged messages with in this window. @default 10000 */
  connWindowMs?: number;
  /** Peers killed one after another (each once the previous one is detected). @default 3 */
  kills?: number;
  /** Share of messages lost. @default 0 */
  loss?: number;
  config?: Partial<SwimConfig>;
}

/** Time until the mesh noticed one killed peer. */
export interface Detection {
  /** Kill → the first peer suspects it (ms). */
  firstSuspectMs: number | null;
  /** Kill → every running peer holds it dead (ms). */
  allDeadMs: number | null;
}

/** What the scenario measured (virtual time). */
export interface ScenarioResult {
  n: number;
  /** Last peer started → every peer lists every other (ms); null if it never did. */
  convergeMs: number | null;
  /** Bytes and messages sent per peer per second in steady state: mean, median and max over peers. */
  bytesPerSec: { mean: number; p50: number; max: number };
  msgsPerSec: { mean: number; p50: number; max: number };
  /** Distinct peers each peer exchanged messages with in the last `connWindowMs`. */
  connections: { mean: number; p50: number; max: number };
  detections: Detection[];
  /** Live peers declared dead or left by anyone after convergence (must be 0 without loss). */
  falseDead: number;
  /** Suspicions of live peers after convergence (refuted ones). */
  falseSuspect: number;
  virtualS: number;
  timers: number;
}

function stats(xs: number[]): { mean: number; p50: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  return { mean, p50: s[Math.floor(s.length / 2)] ?? NaN, max: s[s.length - 1] ?? NaN };
}

/**
 * Runs the scenario for `opts.n` peers and returns what it measured.
 *
 * @example
 * ```ts
 * const res = runScenario({ n: 50, kills: 1 });
 * res.convergeMs; res.bytesPerSec.mean; res.detections[0]!.allDeadMs;
 * ```
 */
export function runScenario(opts: ScenarioOptions): ScenarioResult {
  const n = opts.n;
  const seeds = Math.min(opts.seeds ?? 3, n);
  const spacing = opts.joinSpacingMs ?? 10;
  const c = createSimCluster({
    n,
    seed: opts.seed ?? 1,
    loss: opts.loss ?? 0,
    ...(opts.config ? { config: opts.config } : {}),
  });
  const s = c.scheduler;
  const seedList = Array.from({ length: seeds }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    s.setTimeout(() => c.start(i, i < seeds ? seedList : [i % seeds]), i * spacing);
    // A joiner whose sync was lost asks again.
    const retry = () => {
      if (!c.peers[i]!.up) return;
      if (c.peers[i]!.members === 0) {
        c.peers[i]!.swim.join(
          seedList.map((j) => ({ id: c.peers[j]!.id, addrs: c.peers[j]!.addrs })),
        );
      }
      s.setTimeout(retry, 2_000);
    };
    s.setTimeout(retry, i * spacing + 2_000);
  }
  const lastStart = (n - 1) * spacing;
  let convergedAt: number | undefined;
  for (let t = lastStart; t <= lastStart + 300_000; t += 250) {
    s.run(t);
    if (c.converged()) {
      convergedAt = t;
      break;
    }
  }
  const result: ScenarioResult = {
    n,
    convergeMs: convergedAt === undefined ? null : convergedAt - lastStart,
    bytesPerSec: { mean: NaN, p50: NaN, max: NaN },
    msgsPerSec: { mean: NaN, p50: NaN, max: NaN },
    connections: { mean: NaN, p50: NaN, max: NaN },
    detections: [],
    falseDead: 0,
    falseSuspect: 0,
    virtualS: 0,
    timers: 0,
  };
  if (convergedAt === undefined) return finish();

  const killed = new Set<string>();
  c.onEvent((_p, ev) => {
    if (killed.has(ev.member.id)) return;
    if (ev.type === "leave") result.falseDead++;
    if (ev.type === "suspect") result.falseSuspect++;
  });
  s.run(s.now() + (opts.settleMs ?? 20_000));
  const windowMs = opts.windowMs ?? 30_000;
  const before = c.peers.map((p) => [p.sent, p.sentBytes]);
  s.run(s.now() + windowMs);
  const up = c.peers.filter((p) => p.up);
  result.bytesPerSec = stats(up.map((p) => (p.sentBytes - before[p.index]![1]!) * 1000 / windowMs));
  result.msgsPerSec = stats(up.map((p) => (p.sent - before[p.index]![0]!) * 1000 / windowMs));
  result.connections = stats(c.connections(opts.connWindowMs ?? 10_000));

  const rnd = (k: number) => (k * 2654435761) % (n - seeds) + seeds;
  for (let k = 0; k < (opts.kills ?? 3); k++) {
    let victim: SimPeer | undefined;
    for (let j = 0; j < n && (!victim || !victim.up); j++) victim = c.peers[rnd(k + j + 1)];
    if (!victim?.up) break;
    const id = victim.id;
    killed.add(id);
    const t0 = s.now();
    let firstSuspect: number | undefined;
    let dead = 0;
    const live = c.peers.filter((p) => p.up && p !== victim).length;
    c.onEvent((_p, ev) => {
      if (ev.member.id !== id) return;
      if (ev.type === "suspect" && firstSuspect === undefined) firstSuspect = s.now() - t0;
      if (ev.type === "leave") dead++;
    });
    c.kill(victim.index);
    let allDead: number | undefined;
    for (let t = t0 + 100; t <= t0 + 120_000; t += 100) {
      s.run(t);
      if (dead >= live) {
        allDead = t - t0;
        break;
      }
    }
    result.detections.push({ firstSuspectMs: firstSuspect ?? null, allDeadMs: allDead ?? null });
    s.run(s.now() + 5_000);
  }
  return finish();

  function finish(): ScenarioResult {
    result.virtualS = s.now() / 1000;
    result.timers = s.executed;
    return result;
  }
}
