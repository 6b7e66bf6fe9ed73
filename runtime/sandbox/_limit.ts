/**
 * How many calls one process of a function version is handed at once.
 *
 * A process runs JavaScript on one thread: a CPU-bound function usefully runs one or two calls at
 * a time, one that waits on the network dozens. The limit is learned per version, AIMD as in
 * Netflix's concurrency-limits, from the sojourn time of the queue inside the process (as CoDel
 * measures a queue): how long after the host handed it a call the process started it. A start
 * later than {@linkcode PROCESS_WAIT_TARGET_MS} cuts the limit by 10%. A prompt one raises it by
 * one if the limit held calls back, and lets calls that would wait in the host's queue raise it
 * at once, by up to half before the next measurement — so a function that waits on the network
 * gets the slots it needs within a few calls, not one per round trip. End-to-end latency would
 * be the wrong signal here: on a shared host it is mostly the host's own delay.
 *
 * @module
 */
import {
  PROCESS_LIMIT_INITIAL,
  PROCESS_LIMIT_MAX,
  PROCESS_LIMIT_MIN,
  PROCESS_WAIT_TARGET_MS,
} from "./constants.ts";

/** Multiplicative decrease on a late start. */
const BACKOFF = 0.9;

/**
 * The per-process limit of one function version.
 *
 * @example
 * ```ts
 * const limit = new ConcurrencyLimit(64);
 * limit.sample(0.4, true); // started at once while calls waited: one more slot
 * limit.grow();            // a call would wait, and processes start calls promptly: one more
 * limit.sample(35, false); // started 35 ms late: 10% fewer
 * ```
 */
export class ConcurrencyLimit {
  #value: number;
  readonly #min: number;
  readonly #max: number;
  /** What the latest measurement said: undefined before any, true when a start was late. */
  #late: boolean | undefined;
  /** Raises {@linkcode grow} may still make before the next measurement. */
  #credit = 0;

  /** @param max the most it may grow to (at least 1) */
  constructor(max = PROCESS_LIMIT_MAX) {
    this.#max = Math.max(1, max);
    this.#min = Math.min(PROCESS_LIMIT_MIN, this.#max);
    this.#value = Math.min(PROCESS_LIMIT_INITIAL, this.#max);
  }

  /** Calls one process may be running now. */
  get value(): number {
    return Math.floor(this.#value);
  }

  /**
   * Records one call that started `waitMs` after it was handed to a process; `binding` when the
   * limit held calls back as it was handed over (it filled the process, or calls waited).
   */
  sample(waitMs: number, binding: boolean): void {
    if (waitMs > PROCESS_WAIT_TARGET_MS) {
      this.#late = true;
      this.#credit = 0;
      this.#value = Math.max(this.#min, this.#value * BACKOFF);
      return;
    }
    this.#late = false;
    // Only a limit that was reached is raised: an idle version keeps what it learned.
    if (binding) this.#value = Math.min(this.#max, this.#value + 1);
    this.#credit = Math.ceil(this.#value / 2);
  }

  /**
   * A call would have to wait for a slot: raises the limit by one when the processes were last
   * seen starting calls promptly. Returns whether it did.
   */
  grow(): boolean {
    if (this.#late !== false || this.#credit <= 0 || this.#value + 1 > this.#max) return false;
    this.#credit--;
    this.#value++;
    return true;
  }
}
