/**
 * The types of the SWIM membership core, as fixed by /work/SWIM_API.md: what a member is, the
 * messages peers exchange, and the two things the core needs from outside — a fire-and-forget
 * {@link SwimTransport} and a {@link Scheduler} (real or virtual time).
 *
 * @module
 */
import type { Logger } from "../../core/mod.ts";

/** State of a member as this peer believes it (memberlist's states). */
export type MemberState = "alive" | "suspect" | "dead" | "left";

/**
 * Small load/catalogue summary a peer piggybacks about itself on its pings and acks. Opaque to
 * the core; at most {@link MAX_META_BYTES} bytes.
 */
export type Meta = Uint8Array;

/** A member as this peer believes it. */
export interface Member {
  /** Peer id string. */
  id: string;
  /** Multiaddrs with `/p2p/<id>` (≤ 8, each ≤ 512 chars). */
  addrs: string[];
  /** Bumped only by the member itself, to refute a suspicion or to announce a leave. */
  incarnation: number;
  state: MemberState;
  /** Last self-reported meta heard directly from that peer. */
  meta?: Meta;
  /** `now()` when `meta` was received. */
  metaAt?: number;
}

/**
 * A membership event. `join` when a member becomes alive (or suspect) for the first time or
 * again after dead/left; `leave` when it becomes dead or left; `suspect`/`alive` on suspicion
 * and refutation.
 */
export interface SwimEvent {
  type: "join" | "leave" | "suspect" | "alive";
  member: Member;
}

/** One piece of membership news, piggybacked on messages. `addrs` is empty except for `alive`. */
export interface Update {
  id: string;
  addrs: string[];
  incarnation: number;
  state: MemberState;
}

/**
 * What peers send each other. An ack with `who` says "I do not know you": the pinger then sends
 * its own `alive` at once (a member that missed a join learns it from the joiner's first ping).
 * `view` summarises the sender's member list (anti-entropy on mismatch, see {@link View}).
 * `gossip` carries queued news to a few random members while there is any (never in steady state). `sync` carries the full state (O(N)) and is sent only on join,
 * rejoin, or when a peer learns it was declared dead.
 */
export type SwimMessage =
  | { t: "ping"; seq: number; meta?: Meta; updates: Update[]; view?: View }
  | { t: "ping-req"; seq: number; target: string; addrs: string[]; updates: Update[] }
  | { t: "ack"; seq: number; meta?: Meta; updates: Update[]; who?: true; view?: View }
  | { t: "nack"; seq: number; updates: Update[] }
  | { t: "gossip"; updates: Update[] }
  | { t: "sync"; members: Update[]; reply: boolean };

/**
 * A fixed-size digest of a peer's member list: how many members (alive and suspect, self
 * included) and the XOR of a 32-bit hash of their ids. Two peers whose views differ while
 * neither has news in flight exchange a `sync` once — rare misses of a join are repaired without
 * any periodic exchange of the full list.
 */
export interface View {
  n: number;
  h: number;
}

/** How the core reaches other peers. */
export interface SwimTransport {
  /**
   * Fire-and-forget: deliver `msg` to peer `to`, dialing `addrs` if needed. Failures are silent
   * (UDP-like); the core's timeouts handle loss. `addrs` is empty when the core answers a peer it
   * does not know: the transport then answers over the connection the message came in on.
   */
  send(to: string, addrs: string[], msg: SwimMessage): void;
}

/** Time as the core sees it: the real clock by default, virtual time in the simulation. */
export interface Scheduler {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(h: unknown): void;
}

/** Tunables; every field has a default in `constants.ts`. */
export interface SwimConfig {
  /** One probe per period. @default 1000 */
  probeIntervalMs: number;
  /** Wait this long for a direct ack before asking others (ping-req). @default 500 */
  probeTimeoutMs: number;
  /** How many members relay a ping-req. @default 3 */
  indirectChecks: number;
  /** Suspicion timeout = mult × log10(max(N, 10)) × probeIntervalMs. @default 4 */
  suspicionMult: number;
  /** Each update is piggybacked mult × ceil(log10(N + 1)) times, then dropped. @default 4 */
  retransmitMult: number;
  /** Bytes of updates piggybacked per message at most. @default 1400 */
  maxPiggybackBytes: number;
  /** While news is queued, send it to `gossipNodes` random members this often. @default 200 */
  gossipIntervalMs: number;
  /** Members per gossip round. @default 3 */
  gossipNodes: number;
  /** Dead and left members are remembered this long (no stale update resurrects them). @default 60000 */
  deadRetentionMs: number;
  /** At most one `sync` answer to a refuting or unknown peer per this many ms. @default 5000 */
  syncCooldownMs: number;
}

/** What {@link createSwim} takes. */
export interface SwimInit {
  self: { id: string; addrs: string[] };
  transport: SwimTransport;
  /** Default: the real clock (`Date.now`, unref'd `setTimeout`). */
  scheduler?: Scheduler;
  /** Default `Math.random`. */
  random?: () => number;
  /** Sampled when sending a ping or an ack. */
  meta?: () => Meta | undefined;
  config?: Partial<SwimConfig>;
  /**
   * Our incarnation at start. A restarted peer must come back higher than before (persist it, or
   * use the boot time). @default 0
   */
  incarnation?: number;
  logger?: Logger;
}

/** Counters of what this instance sent and received (bytes as encoded by `encodeSwim`). */
export interface SwimStats {
  sent: number;
  sentBytes: number;
  received: number;
  receivedBytes: number;
}

/** A SWIM member: probes others, answers probes, spreads and applies membership news. */
export interface Swim {
  readonly self: string;
  /** Begins the probe loop (round-robin over a shuffled list). */
  start(): void;
  stop(): void;
  /** Ask these seed peers for a full state sync (join); repeated by the caller if needed. */
  join(seeds: Array<{ id: string; addrs: string[] }>): void;
  /** Deliver a received message (already decoded and validated) from peer `from`. */
  receive(from: string, msg: SwimMessage): void;
  /** Hint from the transport that the connection to `id` closed/failed: probe it now (never declares dead). */
  hint(id: string): void;
  /** Announce a graceful leave (state `left`, higher incarnation), disseminated like any update. */
  leave(): void;
  /** Every known member except self, any state. */
  members(): Member[];
  /** Alive and suspect members (the members for routing and placement), self excluded. */
  alive(): Member[];
  get(id: string): Member | undefined;
  onEvent(cb: (ev: SwimEvent) => void): () => void;
  /** Our own incarnation now. */
  readonly incarnation: number;
  readonly stats: SwimStats;
}
