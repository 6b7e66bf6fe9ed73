/**
 * Counters of the pool's background and quorum work, kept as plain numbers on the paths that do
 * the work and read by whoever reports them (the peer's `/metrics`): kv depends on no metrics
 * library, and a count costs one increment.
 * @module
 */

/** The phases that wait for a majority of a key's replicas. */
export type QuorumPhase = "read" | "prepare" | "accept";

/** What the pool has counted since it was created. */
export interface PoolCounters {
  /** Quorums reached (`ok`) and missed (`failed`: a majority could no longer say yes), by phase. */
  readonly quorum: Record<QuorumPhase, { ok: number; failed: number }>;
  /** Rebalance passes: how many ran, whether one runs now, and its progress. */
  readonly rebalance: {
    passes: number;
    running: boolean;
    /** Records looked at by the pass that runs now (or the last one). */
    scanned: number;
    /** Records copied to new owners, over all passes. */
    moved: number;
    /** Records dropped here once their new owners held them, over all passes. */
    dropped: number;
  };
}

/**
 * Fresh counters, all zero.
 *
 * @example
 * ```ts
 * const counters = poolCounters();
 * counters.quorum.read.ok++;
 * ```
 */
export function poolCounters(): PoolCounters {
  return {
    quorum: {
      read: { ok: 0, failed: 0 },
      prepare: { ok: 0, failed: 0 },
      accept: { ok: 0, failed: 0 },
    },
    rebalance: { passes: 0, running: false, scanned: 0, moved: 0, dropped: 0 },
  };
}
