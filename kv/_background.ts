/**
 * Tracks background work (read repair, hint delivery, rebalance) so `stop()`
 * and tests can wait for it instead of sleeping.
 *
 * @module
 */

/**
 * A set of in-flight promises with an `idle()` that waits for all, including
 * those started while waiting.
 *
 * @example
 * ```ts
 * bg.track(repair());
 * await bg.idle();
 * ```
 */
export class Background {
  readonly #pending = new Set<Promise<unknown>>();

  /** Tracks `p` (its rejection is swallowed here; log it where it starts). */
  track(p: Promise<unknown>): void {
    const t = p.catch(() => {}).finally(() => this.#pending.delete(t));
    this.#pending.add(t);
  }

  /** Resolves once nothing is pending. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
  }
}
