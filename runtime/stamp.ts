/**
 * Last-writer-wins stamps for the function catalogue: a hybrid logical clock
 * rendered as a fixed-width string, so that comparing two stamps is comparing
 * two strings — wall time first, then the logical counter, then the peer id
 * that breaks ties. Concurrent deploys of one name settle on the same winner
 * on every peer.
 * @module
 */

/** A clock that issues stamps never lower than any it has seen. */
export interface StampClock {
  /** A new stamp, later than every stamp issued or observed so far. */
  now(): string;
  /** Folds a stamp seen from another peer into the clock. */
  observe(stamp: string): void;
}

const STAMP = /^(\d{15})\.(\d{6})\.(.+)$/;

/**
 * Creates a hybrid logical clock for `peerId`.
 *
 * @example
 * ```ts
 * const clock = createStampClock("peerA");
 * const a = clock.now(), b = clock.now();
 * // a < b
 * ```
 */
export function createStampClock(peerId: string, wall: () => number = Date.now): StampClock {
  let last = 0;
  let counter = 0;
  return {
    now() {
      const t = wall();
      if (t > last) {
        last = t;
        counter = 0;
      } else {
        counter++;
      }
      return `${String(last).padStart(15, "0")}.${String(counter).padStart(6, "0")}.${peerId}`;
    },
    observe(stamp) {
      const m = STAMP.exec(stamp);
      if (!m) return;
      const t = Number(m[1]);
      const c = Number(m[2]);
      if (t > last || (t === last && c > counter)) {
        last = t;
        counter = c;
      }
    },
  };
}

/** Whether a string is a well-formed stamp. */
export function isStamp(value: string): boolean {
  return STAMP.test(value);
}

/** The wall-clock time (ms since the epoch) of a stamp; NaN when it is not one. */
export function stampTime(stamp: string): number {
  const m = STAMP.exec(stamp);
  return m ? Number(m[1]) : NaN;
}
