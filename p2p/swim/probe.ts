/**
 * The failure detector's loop (SWIM §3, memberlist `probe`/`probeNode`): each period, ping the
 * next member of a shuffled round-robin list; without an ack within the probe timeout, ask
 * `indirectChecks` random members to ping it for us (ping-req); without any ack by the end of
 * the period, report it failed (the caller suspects it). Every member is probed once per round
 * — detection time does not grow with the mesh — and a new member is slotted at a random place
 * in the rest of the round.
 *
 * @module
 */
import type { Scheduler, SwimConfig } from "./types.ts";

/** What the loop needs from its SWIM instance. */
export interface ProbeHost {
  scheduler: Scheduler;
  random: () => number;
  config: SwimConfig;
  nextSeq(): number;
  /** Ids that may be probed now (alive and suspect members), for a new round. */
  candidates(): string[];
  probeable(id: string): boolean;
  ping(target: string, seq: number): void;
  /** Ask `via` to ping `target` for us, answering with `seq`. */
  pingReq(via: string, seq: number, target: string): void;
  /** Up to `k` distinct random members other than `exclude`. */
  relays(k: number, exclude: string): string[];
  /** No ack from `target` in a whole period. */
  failed(target: string): void;
}

/** The probe loop of one SWIM instance. */
export interface Prober {
  start(): void;
  stop(): void;
  /** A member appeared: slot it into the current round. */
  added(id: string): void;
  /** Probe `id` now, outside the round (a hint that its connection failed). */
  probeNow(id: string): void;
  /** An ack with `seq` arrived; true when it answered one of our probes. */
  acked(seq: number): boolean;
  /** Probes in flight (for tests). */
  readonly inFlight: number;
}

interface Probe {
  target: string;
  acked: boolean;
  startedAt: number;
  timers: unknown[];
}

/**
 * A stopped probe loop over `host`.
 *
 * @example
 * ```ts
 * const prober = createProber(host);
 * prober.start();
 * ```
 */
export function createProber(host: ProbeHost): Prober {
  const { scheduler, config } = host;
  let order: string[] = [];
  let next = 0;
  let tick: unknown;
  let running = false;
  const probes = new Map<number, Probe>();
  const probing = new Set<string>();

  function shuffle(xs: string[]): string[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(host.random() * (i + 1));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  }

  function nextTarget(): string | undefined {
    for (let pass = 0; pass < 2; pass++) {
      while (next < order.length) {
        const id = order[next++]!;
        if (host.probeable(id) && !probing.has(id)) return id;
      }
      order = shuffle(host.candidates());
      next = 0;
    }
    return undefined;
  }

  function probe(target: string): void {
    const seq = host.nextSeq();
    const p: Probe = { target, acked: false, startedAt: scheduler.now(), timers: [] };
    probes.set(seq, p);
    probing.add(target);
    host.ping(target, seq);
    p.timers.push(scheduler.setTimeout(() => {
      if (p.acked || !running) return;
      for (const via of host.relays(config.indirectChecks, target)) host.pingReq(via, seq, target);
    }, config.probeTimeoutMs));
    p.timers.push(scheduler.setTimeout(() => {
      probes.delete(seq);
      probing.delete(target);
      // A timer that fires far too late means this process stalled (GC, SIGSTOP, a busy
      // loop): the missing ack is likely our own fault, so do not accuse the target (Lifeguard).
      const stalled = scheduler.now() - p.startedAt > 2 * config.probeIntervalMs;
      if (!p.acked && running && !stalled && host.probeable(target)) host.failed(target);
    }, config.probeIntervalMs));
  }

  function loop(): void {
    if (!running) return;
    tick = scheduler.setTimeout(loop, config.probeIntervalMs);
    const target = nextTarget();
    if (target !== undefined) probe(target);
  }

  return {
    start() {
      if (running) return;
      running = true;
      // A random phase, so peers started together do not probe in lockstep.
      tick = scheduler.setTimeout(loop, Math.floor(host.random() * config.probeIntervalMs));
    },
    stop() {
      running = false;
      scheduler.clearTimeout(tick);
      for (const p of probes.values()) for (const t of p.timers) scheduler.clearTimeout(t);
      probes.clear();
      probing.clear();
    },
    added(id) {
      order.push(id);
      const at = next + Math.floor(host.random() * (order.length - next));
      [order[at], order[order.length - 1]] = [order[order.length - 1]!, order[at]!];
    },
    probeNow(id) {
      if (running && host.probeable(id) && !probing.has(id)) probe(id);
    },
    acked(seq) {
      const p = probes.get(seq);
      if (!p) return false;
      p.acked = true;
      return true;
    },
    get inFlight() {
      return probes.size;
    },
  };
}
