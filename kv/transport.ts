/**
 * What the pool needs from the mesh. `runtime/peer.ts` adapts the libp2p
 * mesh to it; `_testing.ts` has an in-memory one for unit tests.
 *
 * @module
 */

/** One live member as the pool sees it. */
export interface PoolMember {
  peerId: string;
  /** Pool bytes this member can still allocate (gossiped). */
  poolFreeBytes: number;
}

/**
 * The pool's view of the mesh: members, membership events, request/response.
 *
 * Why: `kv/` must not import `p2p/`; the peer hands in this small surface.
 * Register the handler with `maxBytes` ≥ `MAX_MESSAGE_BYTES`.
 *
 * @example
 * ```ts
 * const transport: PoolTransport = {
 *   self: mesh.peerId,
 *   members: () => mesh.peers().map((p) => ({ peerId: p.peerId, poolFreeBytes: p.poolFreeBytes })),
 *   onMembership: (cb) => mesh.onMembership(() => cb()),
 *   request: (peer, body, opts) => mesh.request(peer, "/virgo/kv/1", body, { ...opts, maxBytes: MAX_MESSAGE_BYTES }),
 *   handle: (h) => mesh.handle("/virgo/kv/1", h, { maxBytes: MAX_MESSAGE_BYTES }),
 * };
 * ```
 */
export interface PoolTransport {
  readonly self: string;
  /** Live members, including self. */
  members(): PoolMember[];
  /** Calls `cb` after a member joins or leaves; returns an unsubscribe function. */
  onMembership(cb: () => void): () => void;
  /**
   * Sends `body` to `peerId` and resolves with its reply; rejects if it cannot be reached. An
   * error with `unsent: true` means the request never left, so retrying elsewhere is safe.
   */
  request(peerId: string, body: Uint8Array, opts?: { signal?: AbortSignal }): Promise<Uint8Array>;
  /** Registers the handler for requests from other members. */
  handle(handler: (body: Uint8Array, from: string) => Promise<Uint8Array>): Promise<void>;
}
