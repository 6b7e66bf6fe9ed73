/**
 * Private: counting work in progress, and waiting until none is.
 *
 * @module
 */

/**
 * A count of things in progress that one can wait to reach zero.
 *
 * @example
 * ```ts
 * const calls = new InFlight();
 * const end = calls.begin();
 * end();
 * await calls.idle(AbortSignal.timeout(1_000));
 * ```
 */
export class InFlight {
  #n = 0;
  #idle: PromiseWithResolvers<void> | undefined;

  /** Things in progress now. */
  get size(): number {
    return this.#n;
  }

  /** Count one more; the returned function ends it (idempotent). */
  begin(): () => void {
    this.#n++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.#n === 0) {
        this.#idle?.resolve();
        this.#idle = undefined;
      }
    };
  }

  /** Resolves when nothing is in progress, or when `signal` aborts (never rejects). */
  idle(signal?: AbortSignal): Promise<void> {
    if (this.#n === 0 || signal?.aborted) return Promise.resolve();
    this.#idle ??= Promise.withResolvers<void>();
    const idle = this.#idle.promise;
    if (signal === undefined) return idle;
    return new Promise<void>((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      signal.addEventListener("abort", done, { once: true });
      idle.then(done);
    });
  }
}
