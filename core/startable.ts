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

/**
 * Parts started in order and stopped in reverse: `start()` starts each in
 * turn and throws the first failure; `stop()` then stops exactly those that
 * started — so a caller rolls a failed start back by calling `stop()`.
 *
 * @example
 * ```ts
 * const parts = new Lifecycle([db, pool, mesh, http]);
 * try {
 *   await parts.start();
 * } catch (err) {
 *   await parts.stop(); // what started closes: nothing stays open
 *   throw err;
 * }
 * ```
 */
export class Lifecycle implements Startable {
  readonly #parts: readonly Startable[];
  readonly #started: Startable[] = [];

  constructor(parts: readonly Startable[]) {
    this.#parts = parts;
  }

  /** Starts each part not yet started, in order; throws what the first failing one threw. */
  async start(): Promise<void> {
    for (const part of this.#parts.slice(this.#started.length)) {
      await part.start();
      this.#started.push(part);
    }
  }

  /**
   * Runs `beforeStop` of each started part, then `stop`, both in reverse start order. A part
   * that throws keeps no other open: the first error is thrown once every part has stopped.
   */
  async stop(): Promise<void> {
    const parts = this.#started.splice(0).reverse();
    const errors: unknown[] = [];
    for (const part of parts) await settle(() => part.beforeStop?.(), errors);
    for (const part of parts) await settle(() => part.stop(), errors);
    if (errors.length > 0) throw errors[0];
  }
}

/** Runs a step, keeping what it throws in `errors` instead. */
async function settle(step: () => void | Promise<void>, errors: unknown[]): Promise<void> {
  try {
    await step();
  } catch (err) {
    errors.push(err);
  }
}
