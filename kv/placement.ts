/**
 * Placement by rendezvous hashing (HRW): each key ranks every member by a
 * hash of (key, peer); the top `replicas` hold it. A join or leave moves only
 * the keys whose top set changes — about 1/N of them.
 *
 * @module
 */

/** FNV-1a over UTF-16 code units: cheap, no allocation. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

// murmur3's finaliser: spreads every input bit over the output.
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const peerHashes = new Map<string, number>();
function peerHash(peerId: string): number {
  let h = peerHashes.get(peerId);
  if (h === undefined) {
    if (peerHashes.size > 10_000) peerHashes.clear();
    peerHashes.set(peerId, h = fmix32(hash32(peerId) ^ 0x9e3779b9));
  }
  return h;
}

/**
 * All `peers` in HRW order for `key`: highest score first, ties by peer id.
 *
 * @example
 * ```ts
 * rank("users/1", ["a", "b", "c"]); // e.g. ["c", "a", "b"]
 * ```
 */
export function rank(key: string, peers: readonly string[]): string[] {
  const kh = hash32(key);
  return peers
    .map((p) => ({ p, s: fmix32(kh ^ peerHash(p)) }))
    .sort((x, y) => y.s - x.s || (x.p < y.p ? -1 : x.p > y.p ? 1 : 0))
    .map((x) => x.p);
}

/**
 * The replica set of `key`: the first `min(replicas, peers.length)` of {@link rank}.
 * The first is the key's primary, which coordinates its writes.
 *
 * @example
 * ```ts
 * const [primary, ...rest] = owners("k", members, 3);
 * ```
 */
export function owners(key: string, peers: readonly string[], replicas: number): string[] {
  return rank(key, peers).slice(0, Math.max(1, replicas));
}

/**
 * The majority of `n` replicas: writes wait for this many acks, reads for this
 * many answers, so any read set meets any write set.
 *
 * @example
 * ```ts
 * quorum(3); // 2
 * ```
 */
export function quorum(n: number): number {
  return Math.floor(n / 2) + 1;
}
