/**
 * How many calls one process of a function version is handed at once.
 *
 * A process runs JavaScript on one thread: a CPU-bound function usefully runs one or two calls at
 * a time, one that waits on the network dozens. The limit is learned per version, AIMD as in
 * Netflix's concurrency-limits, from the sojourn time of the queue inside the process (as CoDel
 * measures a queue): how long after the host handed it a call the process started it. A process
 * that starts calls promptly while more wait in the host gets one more slot per call; one that
 * leaves a call waiting past {@linkcode PROCESS_WAIT_TARGET_MS} gets 10% fewer. End-to-end
 * latency would be the wrong signal here: on a shared host it is mostly the host's own delay.
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
 * limit.sample(0.4, 8); // started at once while 8 ran: one more slot
 * limit.value;          // 9
 * ```
 */
export class ConcurrencyLimit {
  #value: number;
  readonly #min: number;
  readonly #max: number;

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
   * Records one call that started `waitMs` after it was handed to a process then running
   * `concurrency` calls, itself included.
   */
  sample(waitMs: number, concurrency: number): void {
    if (waitMs > PROCESS_WAIT_TARGET_MS) {
      this.#value = Math.max(this.#min, this.#value * BACKOFF);
    } else if (concurrency >= this.value) {
      // Only a limit that was reached is raised: an idle version keeps what it learned.
      this.#value = Math.min(this.#max, this.#value + 1);
    }
  }
}
