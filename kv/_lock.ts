/**
 * A per-key async mutex: callers for one key run one at a time, in arrival order.
 *
 * @module
 */

/**
 * Serialises async work per key; different keys run concurrently.
 *
 * @example
 * ```ts
 * const locks = new KeyedMutex();
 * await locks.run("k", async () => { const v = await read(); await write(v + 1); });
 * ```
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `fn` after every earlier `run` for `key` has settled. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key);
    let release!: () => void;
    const mine = new Promise<void>((r) => release = r);
    this.#tails.set(key, mine);
    const go = async (): Promise<T> => {
      try {
        return await fn();
      } finally {
        release();
        if (this.#tails.get(key) === mine) this.#tails.delete(key);
      }
    };
    return prev ? prev.then(go) : go();
  }

  /** Number of keys with work queued or running. */
  get size(): number {
    return this.#tails.size;
  }
}
