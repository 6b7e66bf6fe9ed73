/**
 * A simulated network for SWIM on virtual time: N instances of the real `createSwim`, messages
 * encoded and decoded with the real codec, delivered after a random latency (optionally lost),
 * all driven by one discrete-event scheduler (a binary heap of timers). Used by the tests
 * beside it and by `bench/sim.ts`; 1,000 peers run about a minute of virtual time in seconds.
 *
 * @module
 */
import { decodeSwim, encodeSwim } from "./codec.ts";
import { createSwim } from "./swim.ts";
import type { Scheduler, Swim, SwimConfig, SwimEvent, SwimMessage } from "./types.ts";

/**
 * Mulberry32: a small seeded PRNG, so a simulation replays exactly.
 *
 * @example
 * ```ts
 * const rnd = prng(42); rnd(); // 0.6011…
 * ```
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Timer {
  at: number;
  n: number;
  fn: (() => void) | undefined;
}

/** A {@link Scheduler} on virtual time, advanced only by `run`. */
export interface VirtualScheduler extends Scheduler {
  /** Runs every timer due up to `until` (virtual ms), in time order; `now()` ends at `until`. */
  run(until: number): void;
  /** Timers run so far. */
  readonly executed: number;
}

/**
 * Virtual time starting at 0.
 *
 * @example
 * ```ts
 * const s = createVirtualScheduler();
 * s.setTimeout(() => console.log(s.now()), 5);
 * s.run(10); // logs 5
 * ```
 */
export function createVirtualScheduler(): VirtualScheduler {
  const heap: Timer[] = [];
  let now = 0;
  let counter = 0;
  let executed = 0;
  const less = (a: Timer, b: Timer) => a.at < b.at || (a.at === b.at && a.n < b.n);
  function push(t: Timer): void {
    heap.push(t);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i]!, heap[p]!)) break;
      [heap[i], heap[p]] = [heap[p]!, heap[i]!];
      i = p;
    }
  }
  function pop(): Timer {
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < heap.length && less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const t: Timer = { at: now + Math.max(0, ms), n: counter++, fn };
      push(t);
      return t;
    },
    clearTimeout(h) {
      if (h) (h as Timer).fn = undefined;
    },
    run(until) {
      while (heap.length > 0 && heap[0]!.at <= until) {
        const t = pop();
        now = t.at;
        const fn = t.fn;
        if (fn) {
          t.fn = undefined;
          executed++;
          fn();
        }
      }
      now = Math.max(now, until);
    },
    get executed() {
      return executed;
    },
  };
}

/** How a simulated mesh behaves. */
export interface SimOptions {
  /** Peers, all created stopped. */
  n: number;
  /** Seed of every random choice (network and protocol). @default 1 */
  seed?: number;
  /** One-way latency, uniform in [min, max] ms. @default [0.2, 2] */
  latencyMs?: [number, number];
  /** Share of messages lost. @default 0 */
  loss?: number;
  /** Bytes of meta each peer sends on pings and acks (a load summary). @default 100 */
  metaBytes?: number;
  config?: Partial<SwimConfig>;
}

/** One simulated peer. */
export interface SimPeer {
  index: number;
  id: string;
  addrs: string[];
  swim: Swim;
  up: boolean;
  /** Alive and suspect members it lists (kept from its events). */
  members: number;
  /** Messages and bytes it sent (as encoded). */
  sent: number;
  sentBytes: number;
  /** Last virtual time it exchanged a message with each other peer (by index). */
  talk: Map<number, number>;
  /** Extra delay on every message it sends (ms), e.g. to make its acks late. */
  slowBy: number;
}

/** A simulated mesh. */
export interface SimCluster {
  scheduler: VirtualScheduler;
  peers: SimPeer[];
  /** Starts peer `i` and has it join through `seeds` (peer indices). */
  start(i: number, seeds: number[]): void;
  /** Stops peer `i` abruptly: it sends and receives nothing more (kill -9). */
  kill(i: number): void;
  /** Called for every event of every peer. */
  onEvent(cb: (peer: SimPeer, ev: SwimEvent) => void): void;
  /** Whether every running peer lists every other running peer as a member, and nothing else. */
  converged(): boolean;
  /** Distinct peers each running peer exchanged messages with in the last `windowMs`. */
  connections(windowMs: number): number[];
  /** Messages delivered and dropped so far. */
  readonly delivered: number;
  readonly dropped: number;
}

/** A realistic-length libp2p-like peer id for peer `i` (52 characters, as Ed25519 ids). */
export function simPeerId(i: number): string {
  const body = i.toString(36).padStart(6, "0");
  return `12D3KooW${"Sim".padEnd(38, "x")}${body}`;
}

/**
 * A mesh of `opts.n` stopped SWIM peers on virtual time.
 *
 * @example
 * ```ts
 * const c = createSimCluster({ n: 20 });
 * for (let i = 0; i < 20; i++) c.start(i, [0]);
 * c.scheduler.run(30_000);
 * c.converged(); // true
 * ```
 */
export function createSimCluster(opts: SimOptions): SimCluster {
  const scheduler = createVirtualScheduler();
  const rnd = prng(opts.seed ?? 1);
  const [lmin, lmax] = opts.latencyMs ?? [0.2, 2];
  const loss = opts.loss ?? 0;
  const metaBytes = opts.metaBytes ?? 100;
  const byId = new Map<string, number>();
  const listeners: Array<(peer: SimPeer, ev: SwimEvent) => void> = [];
  const peers: SimPeer[] = [];
  let delivered = 0;
  let dropped = 0;

  function deliver(from: SimPeer, to: SimPeer, bytes: Uint8Array): void {
    if (!to.up || !from.up) {
      dropped++;
      return;
    }
    const msg = decodeSwim(bytes);
    if (!msg) throw new Error(`simulation: a message did not decode (${bytes.length} bytes)`);
    delivered++;
    to.talk.set(from.index, scheduler.now());
    to.swim.receive(from.id, msg);
  }

  for (let i = 0; i < opts.n; i++) {
    const id = simPeerId(i);
    byId.set(id, i);
    const meta = new Uint8Array(metaBytes).fill(i & 255);
    const peer: SimPeer = {
      index: i,
      id,
      addrs: [`/ip4/10.0.${i >> 8}.${i & 255}/tcp/4001/p2p/${id}`],
      swim: undefined as unknown as Swim,
      up: false,
      members: 0,
      sent: 0,
      sentBytes: 0,
      talk: new Map(),
      slowBy: 0,
    };
    peer.swim = createSwim({
      self: { id, addrs: peer.addrs },
      scheduler,
      random: prng((opts.seed ?? 1) * 7919 + i),
      meta: metaBytes > 0 ? () => meta : () => undefined,
      ...(opts.config ? { config: opts.config } : {}),
      transport: {
        send(to: string, _addrs: string[], msg: SwimMessage) {
          if (!peer.up) return;
          const j = byId.get(to);
          if (j === undefined) return;
          const bytes = encodeSwim(msg);
          peer.sent++;
          peer.sentBytes += bytes.length;
          peer.talk.set(j, scheduler.now());
          if (loss > 0 && rnd() < loss) {
            dropped++;
            return;
          }
          const target = peers[j]!;
          scheduler.setTimeout(
            () => deliver(peer, target, bytes),
            peer.slowBy + lmin + rnd() * (lmax - lmin),
          );
        },
      },
    });
    peer.swim.onEvent((ev) => {
      if (ev.type === "join") peer.members++;
      else if (ev.type === "leave") peer.members--;
      for (const cb of listeners) cb(peer, ev);
    });
    peers.push(peer);
  }

  return {
    scheduler,
    peers,
    start(i, seeds) {
      const p = peers[i]!;
      p.up = true;
      p.swim.start();
      p.swim.join(
        seeds.filter((s) => s !== i).map((s) => ({ id: peers[s]!.id, addrs: peers[s]!.addrs })),
      );
    },
    kill(i) {
      const p = peers[i]!;
      p.up = false;
      p.swim.stop();
    },
    onEvent(cb) {
      listeners.push(cb);
    },
    converged() {
      let up = 0;
      for (const p of peers) if (p.up) up++;
      for (const p of peers) if (p.up && p.members !== up - 1) return false;
      // Counts match; check the lists themselves only then (rarely, so cheaply).
      for (const p of peers) {
        if (!p.up) continue;
        for (const m of p.swim.alive()) if (!peers[byId.get(m.id)!]!.up) return false;
      }
      return true;
    },
    connections(windowMs) {
      const since = scheduler.now() - windowMs;
      const out: number[] = [];
      for (const p of peers) {
        if (!p.up) continue;
        let c = 0;
        for (const at of p.talk.values()) if (at >= since) c++;
        out.push(c);
      }
      return out;
    },
    get delivered() {
      return delivered;
    },
    get dropped() {
      return dropped;
    },
  };
}
