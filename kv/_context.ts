/**
 * What the pool's parts share: one object built in `pool.ts`, passed to each.
 *
 * @module
 */
import type { Background } from "./_background.ts";
import type { Hlc } from "./hlc.ts";
import type { Logger } from "./logger.ts";
import type { RecordStore } from "./records.ts";
import type { PoolCounters } from "./stats.ts";
import type { Rpc } from "./rpc.ts";
import type { PoolTransport } from "./transport.ts";

/** Shared components of one pool. */
export interface PoolContext {
  readonly self: string;
  readonly transport: PoolTransport;
  readonly rpc: Rpc;
  /** How long a request to another member may take before it counts as unanswered. */
  readonly requestTimeoutMs: number;
  readonly records: RecordStore;
  readonly hlc: Hlc;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly replicas: number;
  readonly maxValueBytes: number;
  readonly bg: Background;
  /** Counts of quorums and rebalance work, for metrics. */
  readonly counters: PoolCounters;
  /** The known members (self included), down ones too: placement and quorums are taken over these. */
  peers(): string[];
  /** The peers reachable now (this one included): only these are asked anything. */
  live(): Set<string>;
  /** The replica set of `key` among `peers` (default: the members now), primary first. */
  ownersOf(key: string, peers?: string[]): string[];
}
