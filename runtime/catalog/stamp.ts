/**
 * The last-writer-wins stamps of catalogue entries, in both forms they come in: versions of
 * kv's hybrid logical clock (`<wall36>-<counter36>-<peerId>`, `kv/hlc.ts`), which this release
 * issues, and the decimal stamps of the release before it (`<wall ms, 15 digits>.<counter, 6
 * digits>.<peerId>`, its `runtime/stamp.ts`), which entries stored or signed by that release
 * carry. The operator's signature covers the stamp as written, so an old entry keeps its old
 * stamp for good; stamps are therefore never compared as plain strings (every old stamp would
 * sort below every new one) but by their parts — wall time, then counter, then peer id — as the
 * clocks themselves order them.
 * @module
 */
import { formatVersion, parseVersion } from "../../kv/mod.ts";

/** What a stamp of either form says: when, the issuing clock's counter, and which peer. */
export interface StampParts {
  wall: number;
  counter: number;
  peerId: string;
}

/** A stamp of the release before kv's clock replaced the catalogue's own. */
const LEGACY_STAMP = /^(\d{15})\.(\d{6})\.([A-Za-z0-9_.=+-]{1,128})$/;
/** The latest wall time an HLC version can hold (9 base36 digits). */
const MAX_WALL = 36 ** 9 - 1;

/**
 * The parts of a stamp of either form; undefined when it is neither.
 *
 * @example
 * ```ts
 * parseStamp("000001732712345678.000003.p1"); // { wall: 1732712345678, counter: 3, peerId: "p1" }
 * parseStamp("m3zqf1ts-0003-p1"); // the same parts, from kv's clock (when the wall matches)
 * ```
 */
export function parseStamp(stamp: string): StampParts | undefined {
  return parseLegacy(stamp) ?? parseVersion(stamp);
}

/** The parts of an old stamp; undefined for anything else (a version of kv's clock too). */
function parseLegacy(stamp: string): StampParts | undefined {
  const m = LEGACY_STAMP.exec(stamp);
  if (!m) return undefined;
  const wall = Number(m[1]);
  return wall <= MAX_WALL ? { wall, counter: Number(m[2]), peerId: m[3]! } : undefined;
}

/** Whether a string is a stamp of either form: what a catalogue entry may carry. */
export function isStamp(stamp: string): boolean {
  return parseStamp(stamp) !== undefined;
}

/**
 * A stamp as kv's clock writes it: itself for a version of kv's clock, the version with the
 * same parts for an old stamp (what `Hlc.observe`/`isAhead` take), the string itself otherwise.
 *
 * @example
 * ```ts
 * clock.observe(asVersion(meta.stamp));
 * ```
 */
export function asVersion(stamp: string): string {
  const legacy = parseLegacy(stamp);
  return legacy ? formatVersion(legacy) : stamp;
}

/**
 * Orders stamps of either form: negative if `a` is older, positive if newer, 0 only for the
 * same string. By their parts first; two forms of the same parts (never issued in practice)
 * are told apart by their strings, so every peer settles on the same winner.
 *
 * @example
 * ```ts
 * compareStamps("000001732712345678.000000.p1", formatVersion({ wall: 1732712345679, counter: 0, peerId: "p1" })) < 0; // true
 * ```
 */
export function compareStamps(a: string, b: string): number {
  if (a === b) return 0;
  const ka = asVersion(a), kb = asVersion(b);
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a < b ? -1 : 1;
}

/** The wall-clock time (ms since the epoch) a stamp was issued at; 0 when it is not a stamp. */
export function stampWall(stamp: string): number {
  return parseStamp(stamp)?.wall ?? 0;
}
