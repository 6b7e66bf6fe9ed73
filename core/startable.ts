/**
 * The lifecycle every part of a peer shares, after libp2p's `Startable`:
 * built unstarted, then `start()`ed in order and `stop()`ped in reverse by
 * the one place that assembles the peer (`runtime/peer.ts`).
 *
 * @module
 */

/**
 * A part with a lifecycle. A `start()` that throws leaves nothing of its own
 * open; `stop()` is safe to call once `start()` has resolved.
 *
 * @example
 * ```ts
 * const ticker: Startable = {
 *   start() { timer = setInterval(tick, 1_000); },
 *   stop() { clearInterval(timer); },
 * };
 * ```
 */
export interface Startable {
  /** Opens what the part holds: sockets, processes, timers. */
  start(): void | Promise<void>;
  /**
   * Runs on every started part, in reverse start order, before any part
   * stops: the moment to tell others this peer is going.
   */
  beforeStop?(): void | Promise<void>;
  /** Closes what `start()` opened; waits for what must finish first. */
  stop(): void | Promise<void>;
}
