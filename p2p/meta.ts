/**
 * A peer's load as it travels: piggybacked on its SWIM pings and acks (the core's opaque
 * `meta`) and on its invoke responses. A positional JSON array, at most `MAX_LOAD_META_BYTES`
 * (256) bytes — about 150 with a catalogue digest and an HTTP URL — validated on the way in.
 *
 * @module
 */
import { MAX_LOAD_META_BYTES } from "./constants.ts";
import type { LocalLoad } from "./types.ts";

/** Version tag, first in the array: a new layout gets a new number. */
const V = 1;

/** The wire form: `[v, inflight, queued, cores, loopDelayMs, poolTotal, poolFree, digest, count, http]`. */
export type LoadWire = [
  v: typeof V,
  inflight: number,
  queued: number,
  cores: number,
  loopDelayMs: number,
  poolTotalBytes: number,
  poolFreeBytes: number,
  digest: string,
  count: number,
  http: string,
];

/** A finite number ≥ 0. */
const isCount = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x >= 0;
/** A string of at most 128 code units. */
const isShort = (x: unknown): x is string => typeof x === "string" && x.length <= 128;

/**
 * True for a well-formed wire array. Checked by hand, not by a schema library: a load
 * arrives on every invoke response (zod's tuple check was ~1% of the calling peer's CPU).
 */
function isLoadWire(v: unknown): v is LoadWire {
  return Array.isArray(v) && v.length === 10 && v[0] === V && isCount(v[1]) && isCount(v[2]) &&
    isCount(v[3]) && v[3] > 0 && isCount(v[4]) && isCount(v[5]) && isCount(v[6]) &&
    isShort(v[7]) && Number.isInteger(v[8]) && v[8] >= 0 && isShort(v[9]);
}

/** Rounds to 0.1, which is all routing needs of a delay. */
const tenth = (x: number) => Math.round(x * 10) / 10;

/**
 * The wire array of `load`; its `http` is dropped if it would not fit the bound (it is for
 * humans only).
 *
 * @example
 * ```ts
 * const head = { status: 200, statusText: "", headers: [], load: toLoadWire(sample()) };
 * ```
 */
export function toLoadWire(load: LocalLoad): LoadWire {
  const http = load.http !== undefined && load.http.length <= 128 ? load.http : "";
  return [
    V,
    load.inflight,
    load.queued,
    load.cores,
    tenth(load.loopDelayMs),
    load.poolTotalBytes,
    load.poolFreeBytes,
    load.catalog.digest.slice(0, 128),
    load.catalog.count,
    http,
  ];
}

/**
 * The load a wire array stands for; `undefined` for anything that is not one.
 *
 * @example
 * ```ts
 * const load = fromLoadWire(head.load);
 * if (load) view.heard(peerId, load);
 * ```
 */
export function fromLoadWire(value: unknown): LocalLoad | undefined {
  if (!isLoadWire(value)) return undefined;
  const [, inflight, queued, cores, loopDelayMs, poolTotalBytes, poolFreeBytes, digest, n, http] =
    value;
  return {
    inflight,
    queued,
    cores,
    loopDelayMs,
    poolTotalBytes,
    poolFreeBytes,
    catalog: { digest, count: n },
    ...(http === "" ? {} : { http }),
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * `load` as SWIM meta bytes (≤ `MAX_LOAD_META_BYTES`).
 *
 * @example
 * ```ts
 * createSwim({ ..., meta: () => encodeLoad(sample()) });
 * ```
 */
export function encodeLoad(load: LocalLoad): Uint8Array {
  const bytes = encoder.encode(JSON.stringify(toLoadWire(load)));
  if (bytes.byteLength <= MAX_LOAD_META_BYTES) return bytes;
  return encoder.encode(JSON.stringify(toLoadWire({ ...load, http: "" })));
}

/**
 * The load in SWIM meta bytes; `undefined` if malformed or oversized.
 *
 * @example
 * ```ts
 * const load = member.meta && decodeLoad(member.meta);
 * ```
 */
export function decodeLoad(bytes: Uint8Array): LocalLoad | undefined {
  if (bytes.byteLength > MAX_LOAD_META_BYTES) return undefined;
  try {
    return fromLoadWire(JSON.parse(decoder.decode(bytes)));
  } catch {
    return undefined;
  }
}
