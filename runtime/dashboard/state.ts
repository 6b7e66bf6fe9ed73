/**
 * What the dashboard shows, as one JSON snapshot: the mesh as this peer sees it (each peer's
 * cores, load and pool), the functions with their calls as this peer saw them, and the latest
 * calls with the peer that ran each.
 * @module
 */
import type { PeerInfo } from "../../p2p/mod.ts";
import type { Registry } from "../catalog/mod.ts";
import type { CallRecord, FunctionStats, Metrics } from "../metrics.ts";

/** One peer in the snapshot. */
export interface PeerView {
  peerId: string;
  self: boolean;
  cores: number;
  inflight: number;
  queued: number;
  loopDelayMs: number;
  poolTotalBytes: number;
  poolFreeBytes: number;
  /** (in flight + queued) / cores, 0 when idle. */
  load: number;
  http: string;
  /** `suspect`: SWIM's probe went unanswered; `leaving`: stopping gracefully. */
  state: "alive" | "suspect" | "leaving";
}

/** One function in the snapshot. */
export interface FunctionView extends FunctionStats {
  name: string;
  version: string;
  deployedAt: string;
  /** errors / calls, 0 without calls. */
  errorRate: number;
}

/** The dashboard's snapshot. */
export interface DashboardState {
  self: string;
  /** ms since the epoch. */
  at: number;
  peers: PeerView[];
  functions: FunctionView[];
  /** The latest calls this peer took or ran, oldest first; `peer` is the one that ran it. */
  calls: Array<CallRecord & { peer: string }>;
}

/** What a snapshot is read from. */
export interface StateSource {
  peerId: string;
  registry: Registry;
  net: { peers(): PeerInfo[] };
  metrics: Metrics;
}

const EMPTY: FunctionStats = { calls: 0, errors: 0, p50Ms: 0, p99Ms: 0, lastErrors: [] };

/**
 * Reads the snapshot now.
 *
 * @example
 * ```ts
 * const state = dashboardState({ peerId, registry, net: mesh, metrics });
 * state.peers.length; // peers in view, this one included
 * ```
 */
export function dashboardState(src: StateSource): DashboardState {
  const stats = src.metrics.functionStats();
  const peers = src.net.peers().map((p): PeerView => ({
    peerId: p.peerId,
    self: p.self,
    cores: p.cores,
    inflight: p.inflight,
    queued: p.queued,
    loopDelayMs: p.loopDelayMs,
    poolTotalBytes: p.poolTotalBytes,
    poolFreeBytes: p.poolFreeBytes,
    load: (p.inflight + p.queued) / Math.max(1, p.cores),
    http: p.http ?? "",
    state: p.leaving ? "leaving" : p.suspect ? "suspect" : "alive",
  })).sort((a, b) => a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0);
  const functions = src.registry.list().map((m): FunctionView => {
    const s = stats.get(m.name) ?? EMPTY;
    return {
      name: m.name,
      version: m.version,
      deployedAt: m.deployedAt,
      ...s,
      errorRate: s.calls > 0 ? s.errors / s.calls : 0,
    };
  });
  const calls = src.metrics.recentCalls().map((c) => ({ ...c, peer: c.peer ?? src.peerId }));
  return { self: src.peerId, at: Date.now(), peers, functions, calls };
}
