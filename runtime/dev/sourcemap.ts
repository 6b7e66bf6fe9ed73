/**
 * Maps positions in a bundle back to the function's own files with the
 * bundle's source map (version 3, as `deno bundle --sourcemap` writes it),
 * and rewrites the stack frames of a log line to point there.
 * @module
 */
import type { SourceMapV3 } from "../catalog/mod.ts";

/** A position in an original source file (1-based line and column). */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/** Maps a 1-based line and column of the bundle to where it came from. */
export type PositionMapper = (line: number, column: number) => SourcePosition | undefined;

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DIGIT = new Map([...B64].map((c, i) => [c, i]));

/** Decodes one segment's base64 VLQ fields. */
function decodeVlq(segment: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const c of segment) {
    const d = DIGIT.get(c);
    if (d === undefined) return [];
    value += (d & 31) << shift;
    if (d & 32) {
      shift += 5;
      continue;
    }
    out.push(value & 1 ? -(value >>> 1) : value >>> 1);
    value = 0;
    shift = 0;
  }
  return out;
}

/**
 * Builds a mapper over `map`: each generated line's segments are decoded once, up front.
 *
 * @example
 * ```ts
 * const at = sourceMapper(bundled.map!);
 * at(12, 5); // { file: "/home/me/fn/main.ts", line: 3, column: 9 }
 * ```
 */
export function sourceMapper(map: SourceMapV3): PositionMapper {
  // Per generated line: [generated column, source index, source line, source column], sorted.
  const lines: Array<Array<[number, number, number, number]>> = [];
  let src = 0;
  let srcLine = 0;
  let srcCol = 0;
  for (const text of map.mappings.split(";")) {
    const segs: Array<[number, number, number, number]> = [];
    let col = 0;
    for (const s of text.split(",")) {
      if (!s) continue;
      const f = decodeVlq(s);
      col += f[0] ?? 0;
      if (f.length < 4) continue;
      src += f[1]!;
      srcLine += f[2]!;
      srcCol += f[3]!;
      segs.push([col, src, srcLine, srcCol]);
    }
    lines.push(segs.sort((a, b) => a[0] - b[0]));
  }
  return (line, column) => {
    const segs = lines[line - 1];
    if (!segs || segs.length === 0) return undefined;
    let best = segs[0]!;
    for (const s of segs) {
      if (s[0] > column - 1) break;
      best = s;
    }
    const file = map.sources[best[1]];
    return file === undefined ? undefined : { file, line: best[2] + 1, column: best[3] + 1 };
  };
}

/**
 * Rewrites every `<url>:<line>:<column>` of `text` that names the bundle (`bundleUrl`, as the
 * bundle's `//# sourceURL=` comment names it in stack frames) to the original file's position,
 * shown by `show` (e.g. relative to the working folder).
 *
 * @example
 * ```ts
 * mapFrames("at fetch (virgo-dev:/hello.js:6:11)", "virgo-dev:/hello.js", at, (f) => f);
 * // "at fetch (/home/me/hello.ts:6:11)"
 * ```
 */
export function mapFrames(
  text: string,
  bundleUrl: string,
  at: PositionMapper,
  show: (file: string) => string,
): string {
  if (!text.includes(bundleUrl)) return text;
  const escaped = bundleUrl.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  return text.replace(new RegExp(`${escaped}:(\\d+):(\\d+)`, "g"), (whole, l, c) => {
    const p = at(Number(l), Number(c));
    return p ? `${show(p.file)}:${p.line}:${p.column}` : whole;
  });
}
