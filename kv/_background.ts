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

/**
 * Resolves once `need` of `tasks` fulfilled (with their values, `undefined`
 * for the rest), or rejects when too many failed for that to happen, with the
 * failures' reasons.
 *
 * @example
 * ```ts
 * const answers = await waitFor(replicas.map(ask), 2);
 * ```
 */
export function waitFor<T>(tasks: Promise<T>[], need: number): Promise<Array<T | undefined>> {
  return new Promise((resolve, reject) => {
    const values: Array<T | undefined> = new Array(tasks.length).fill(undefined);
    const errors: unknown[] = [];
    let ok = 0;
    let done = false;
    if (need <= 0) {
      done = true;
      resolve(values);
    }
    tasks.forEach((t, i) =>
      t.then(
        (v) => {
          if (done) return;
          values[i] = v;
          if (++ok >= need) {
            done = true;
            resolve(values.slice());
          }
        },
        (err) => {
          if (done) return;
          errors.push(err);
          if (tasks.length - errors.length < need) {
            done = true;
            reject(new AggregateError(errors, "Too few replicas answered"));
          }
        },
      )
    );
  });
}
