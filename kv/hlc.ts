/**
 * Hybrid logical clock versions: every write gets a version that is unique,
 * close to wall time, and later than every version its coordinator has seen.
 *
 * A version string is `<wall>-<counter>-<peerId>`: `wall` is milliseconds
 * since the epoch in base36, zero-padded to 9 characters (good until year
 * 5188); `counter` is base36 padded to 4; `peerId` breaks ties. Fixed widths
 * make plain string order the version order, so versions compare with `<`.
 * `"0"` sorts below every version and stands for "no version" (missing key).
 * Versions are opaque to users; they see them in `x-virgo-version`.
 *
 * @module
 */
import { MAX_CLOCK_AHEAD_MS } from "./constants.ts";

const WALL_WIDTH = 9;
const COUNTER_WIDTH = 4;
const COUNTER_MAX = 36 ** COUNTER_WIDTH - 1;
const VERSION = /^([0-9a-z]{9})-([0-9a-z]{4})-([A-Za-z0-9_.=+-]{1,128})$/;

/** The version of a key that does not exist; below every real version. */
export const NO_VERSION = "0";

/** The parts of a version string. */
export interface VersionParts {
  wall: number;
  counter: number;
  peerId: string;
}

/**
 * Formats a version from its parts.
 *
 * @example
 * ```ts
 * formatVersion({ wall: 0, counter: 1, peerId: "p1" }); // "000000000-0001-p1"
 * ```
 */
export function formatVersion(p: VersionParts): string {
  return `${p.wall.toString(36).padStart(WALL_WIDTH, "0")}-${
    p.counter.toString(36).padStart(COUNTER_WIDTH, "0")
  }-${p.peerId}`;
}

/**
 * Parses a version string; `undefined` if it is not one (e.g. `"0"` or garbage).
 *
 * @example
 * ```ts
 * parseVersion("000000000-0001-p1"); // { wall: 0, counter: 1, peerId: "p1" }
 * ```
 */
export function parseVersion(v: string): VersionParts | undefined {
  const m = VERSION.exec(v);
  if (!m) return undefined;
  return { wall: parseInt(m[1]!, 36), counter: parseInt(m[2]!, 36), peerId: m[3]! };
}

/** True if `v` is a well-formed version string (not `"0"`). */
export function isVersion(v: string): boolean {
  return VERSION.test(v);
}

/**
 * Orders versions: negative if `a` is older than `b`, 0 if equal, positive if newer.
 *
 * @example
 * ```ts
 * compareVersions("0", "000000001-0000-p1") < 0; // true
 * ```
 */
export function compareVersions(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A hybrid logical clock for one peer.
 *
 * Why: wall clocks of peers disagree; an HLC stays near wall time (so TTLs and
 * tombstone GC can use it) yet never goes backwards and moves past every
 * version it observes, so a coordinator's next write is newer than what it read.
 *
 * @example
 * ```ts
 * const hlc = new Hlc("p1");
 * const v1 = hlc.next();
 * hlc.observe(remoteVersion);
 * const v2 = hlc.next(); // > v1 and > remoteVersion
 * ```
 */
export class Hlc {
  readonly #peerId: string;
  readonly #now: () => number;
  #wall = 0;
  #counter = 0;

  /** `now` is the wall clock in ms; inject one in tests. */
  constructor(peerId: string, now: () => number = Date.now) {
    this.#peerId = peerId;
    this.#now = now;
  }

  /** Whether `version` is stamped more than {@linkcode MAX_CLOCK_AHEAD_MS} ahead of the wall clock. */
  isAhead(version: string): boolean {
    const p = parseVersion(version);
    return p !== undefined && p.wall > this.#now() + MAX_CLOCK_AHEAD_MS;
  }

  /** A new version, newer than every version issued or observed before. */
  next(): string {
    const pt = Math.floor(this.#now());
    if (pt > this.#wall) {
      this.#wall = pt;
      this.#counter = 0;
    } else if (this.#counter >= COUNTER_MAX) {
      this.#wall++;
      this.#counter = 0;
    } else {
      this.#counter++;
    }
    return formatVersion({ wall: this.#wall, counter: this.#counter, peerId: this.#peerId });
  }

  /**
   * Moves the clock past `version`. Ignored if it is not a version, or if it is more than
   * {@linkcode MAX_CLOCK_AHEAD_MS} ahead of the wall clock: one peer's bad clock, or a forger,
   * must not drag this one into the future.
   */
  observe(version: string): void {
    const p = parseVersion(version);
    if (!p || this.isAhead(version)) return;
    if (p.wall > this.#wall) {
      this.#wall = p.wall;
      this.#counter = p.counter;
    } else if (p.wall === this.#wall && p.counter > this.#counter) {
      this.#counter = p.counter;
    }
  }
}
