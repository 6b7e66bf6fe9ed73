/**
 * Picking a peer to run a call on.
 *
 * `random` chooses over the whole membership. `p2c` and `least-loaded` choose over the mesh's
 * load sample (`Mesh.sample()`: self plus the few members whose load was heard most recently —
 * SWIM's random probes and the invoke responses keep it fresh), so their cost and the load
 * knowledge they need do not grow with the mesh; when no sampled peer can run the call, over
 * every member that can. A peer's load score is
 *
 *     (inflight + queued) / cores × 0.5^(ageMs / LOAD_AGE_HALF_LIFE_MS)   (heard, fading with age)
 *   + calls this peer sent there and that have not ended yet / cores      (our own, always current)
 *
 * The second term is what keeps a stale view from herding: between two
 * loads heard, every call we send to a peer raises its score here at
 * once. For self the first term is already live (sampled now), so our own
 * calls to self are not added twice. Leaving peers are never picked (but for
 * `local`), suspected ones only when no other can run the call.
 *
 * @module
 */
import { LOAD_AGE_HALF_LIFE_MS } from "./constants.ts";
import type { Mesh, PeerInfo } from "./types.ts";

/**
 * How to choose: `local` (self only), `random` (uniform over candidates),
 * `least-loaded` (lowest score), `p2c` (two distinct random candidates, the
 * lower score wins: near least-loaded quality without herding on one peer).
 */
export type Strategy = "local" | "random" | "least-loaded" | "p2c";

/** All strategies, e.g. for validating configuration. */
export const STRATEGIES: readonly Strategy[] = ["local", "random", "least-loaded", "p2c"];

/** Chooses peers from the mesh's live view and load sample. */
export interface Router {
  /**
   * A live peer not in `exclude` and not leaving (but for `local`), or `undefined` if none (the
   * caller answers 503). Any member may be handed any call: one that lacks the version refuses
   * it before running anything.
   */
  pick(strategy: Strategy, exclude?: Set<string>): PeerInfo | undefined;
  /** Count a call this peer sent to `peerId` until the returned `end()` is called (idempotent). */
  begin(peerId: string): () => void;
  /** The load score used by `least-loaded` and `p2c` (exposed for tests and metrics). */
  score(p: PeerInfo): number;
}

/** Options of {@link createRouter}. */
export interface RouterInit {
  /** Random source in [0, 1), injectable for tests. @default Math.random */
  random?: () => number;
  /** Half-life of a heard load's weight. @default LOAD_AGE_HALF_LIFE_MS */
  ageHalfLifeMs?: number;
}

/**
 * Create a router over a mesh (only `peers()` and `sample()` are used, so tests can pass a fake view).
 *
 * @example
 * ```ts
 * const router = createRouter(mesh);
 * const peer = router.pick("p2c");
 * if (!peer) throw new MeshError("NO_PEER_AVAILABLE", "No peer can run this function");
 * const end = router.begin(peer.peerId);
 * try { return await mesh.invoke(peer.peerId, req); } finally { end(); }
 * ```
 */
export function createRouter(
  mesh: Pick<Mesh, "peers" | "sample">,
  init: RouterInit = {},
): Router {
  const random = init.random ?? Math.random;
  const halfLife = init.ageHalfLifeMs ?? LOAD_AGE_HALF_LIFE_MS;
  const mine = new Map<string, number>();

  const score = (p: PeerInfo): number => {
    const cores = Math.max(1, p.cores);
    const heard = ((p.inflight + p.queued) / cores) * 0.5 ** (Math.max(0, p.ageMs) / halfLife);
    const own = p.self ? 0 : (mine.get(p.peerId) ?? 0) / cores;
    return heard + own;
  };
  const randomIndex = (n: number) => Math.min(n - 1, Math.floor(random() * n));

  return {
    score,
    pick(strategy, exclude) {
      const ok = (p: PeerInfo) => !(exclude?.has(p.peerId) ?? false);
      if (strategy === "local") {
        const self = mesh.sample()[0];
        return self?.self && ok(self) ? self : undefined;
      }
      // A leaving peer finishes what it has but takes nothing new; a suspect one may be dead.
      const among = (list: PeerInfo[]) => {
        const can = list.filter((p) => !p.leaving && ok(p));
        const sure = can.filter((p) => !p.suspect);
        return sure.length > 0 ? sure : can;
      };
      let candidates = strategy === "random" ? [] : among(mesh.sample());
      if (candidates.length === 0) candidates = among(mesh.peers());
      if (candidates.length <= 1) return candidates[0];
      switch (strategy) {
        case "random":
          return candidates[randomIndex(candidates.length)];
        case "least-loaded": {
          let best: PeerInfo[] = [];
          let bestScore = Infinity;
          for (const p of candidates) {
            const s = score(p);
            if (s < bestScore) {
              bestScore = s;
              best = [p];
            } else if (s === bestScore) best.push(p);
          }
          return best[randomIndex(best.length)];
        }
        case "p2c": {
          const i = randomIndex(candidates.length);
          let j = randomIndex(candidates.length - 1);
          if (j >= i) j++;
          const a = candidates[i]!;
          const b = candidates[j]!;
          const sa = score(a);
          const sb = score(b);
          if (sa !== sb) return sa < sb ? a : b;
          return random() < 0.5 ? a : b;
        }
      }
    },
    begin(peerId) {
      mine.set(peerId, (mine.get(peerId) ?? 0) + 1);
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        const n = (mine.get(peerId) ?? 1) - 1;
        if (n <= 0) mine.delete(peerId);
        else mine.set(peerId, n);
      };
    },
  };
}
