/**
 * A peer's load as it travels: piggybacked on its SWIM pings and acks (the core's opaque
 * `meta`) and on its invoke responses. A positional JSON array, at most `MAX_LOAD_META_BYTES`
 * (256) bytes — about 150 with a catalogue digest and an HTTP URL — validated on the way in.
 *
 * @module
 */
import { z } from "zod";
import { MAX_LOAD_META_BYTES } from "./constants.ts";
import type { LocalLoad } from "./types.ts";

/** Version tag, first in the array: a new layout gets a new number. */
const V = 1;

const count = z.number().finite().nonnegative();

/** The wire form: `[v, inflight, queued, cores, loopDelayMs, poolTotal, poolFree, digest, count, http]`. */
export const LoadWire = z.tuple([
  z.literal(V),
  count,
  count,
  z.number().finite().positive(),
  count,
  count,
  count,
  z.string().max(128),
  z.number().int().nonnegative(),
  z.string().max(128),
]);

/** The array form of a load (also what an invoke response head carries). */
export type LoadWire = z.infer<typeof LoadWire>;

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
  const r = LoadWire.safeParse(value);
  if (!r.success) return undefined;
  const [, inflight, queued, cores, loopDelayMs, poolTotalBytes, poolFreeBytes, digest, n, http] =
    r.data;
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
