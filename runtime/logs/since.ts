/**
 * `--since` / `?since=`: a point in time as ISO 8601 or as a duration back from now.
 * @module
 */
import { VirgoError } from "../errors.ts";

const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * The time `value` names, in ms since the epoch: a duration back from `now` (`90s`, `10m`,
 * `1h30m`, `2d`) or an ISO 8601 date (`2026-11-28T10:00:00Z`). Throws `BAD_REQUEST` otherwise.
 *
 * @example
 * ```ts
 * parseSince("10m", 600_000); // 0
 * parseSince("1970-01-01T00:00:01Z"); // 1000
 * ```
 */
export function parseSince(value: string, now = Date.now()): number {
  const v = value.trim();
  if (/^(\d+(ms|s|m|h|d))+$/.test(v)) {
    let ms = 0;
    for (const [, n, unit] of v.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(n) * UNITS[unit!]!;
    return now - ms;
  }
  // A date alone or a date with a time; Date.parse accepts more, but only ISO is promised.
  if (/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) {
    const t = Date.parse(v);
    if (Number.isFinite(t)) return t;
  }
  throw new VirgoError(
    "BAD_REQUEST",
    `Invalid since: ${
      value.slice(0, 40)
    } (use a duration such as 10m or 1h30m, or an ISO 8601 time)`,
  );
}
