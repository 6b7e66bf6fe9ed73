/**
 * SWIM messages on the wire, in the layout of Virgo's one head-plus-bytes codec
 * (`core/codec.ts`: `[u32 head length][JSON head][bytes]`): a compact JSON head — updates as
 * `[id, incarnation, state, addrs?]` tuples — and the sender's meta as the raw bytes after it.
 * Decoding checks every field by hand (a 1,000-peer simulation decodes millions of messages;
 * zod cost ~10× more here) and returns `undefined` for anything malformed or oversized, so the
 * core never sees a bad message.
 *
 * @module
 */
import {
  MAX_ADDR_CHARS,
  MAX_ADDRS,
  MAX_ID_CHARS,
  MAX_MESSAGE_BYTES,
  MAX_META_BYTES,
  MAX_SYNC_BYTES,
  MAX_SYNC_MEMBERS,
  MAX_UPDATES,
} from "./constants.ts";
import type { MemberState, SwimMessage, Update } from "./types.ts";

const STATE_CODE = { alive: "a", suspect: "s", dead: "d", left: "l" } as const;
const CODE_STATE: Record<string, MemberState> = { a: "alive", s: "suspect", d: "dead", l: "left" };
const KIND = { ping: "p", "ping-req": "r", ack: "a", nack: "n", gossip: "g", sync: "y" } as const;

const te = new TextEncoder();
const td = new TextDecoder("utf-8", { fatal: true });
let scratch = new Uint8Array(64 * 1024);

/** Bytes of each message object encoded or decoded here, so stats and transport encode once. */
const sizes = new WeakMap<SwimMessage, Uint8Array | number>();

function toWire(u: Update): unknown[] {
  return u.addrs.length
    ? [u.id, u.incarnation, STATE_CODE[u.state], u.addrs]
    : [u.id, u.incarnation, STATE_CODE[u.state]];
}

/**
 * The bytes of `msg`. Encoding the same message object twice returns the same bytes without
 * encoding again (the core encodes to count bytes; the transport then gets them for free).
 *
 * @example
 * ```ts
 * const bytes = encodeSwim({ t: "ping", seq: 1, updates: [] });
 * ```
 */
export function encodeSwim(msg: SwimMessage): Uint8Array {
  const known = sizes.get(msg);
  if (known instanceof Uint8Array) return known;
  const head: Record<string, unknown> = { t: KIND[msg.t] };
  let meta: Uint8Array | undefined;
  switch (msg.t) {
    case "ping":
    case "ack":
      head.s = msg.seq;
      head.u = msg.updates.map(toWire);
      if (msg.t === "ack" && msg.who) head.w = 1;
      if (msg.view) head.v = [msg.view.n, msg.view.h];
      meta = msg.meta;
      break;
    case "ping-req":
      head.s = msg.seq;
      head.g = msg.target;
      head.ga = msg.addrs;
      head.u = msg.updates.map(toWire);
      break;
    case "nack":
      head.s = msg.seq;
      head.u = msg.updates.map(toWire);
      break;
    case "gossip":
      head.u = msg.updates.map(toWire);
      break;
    case "sync":
      head.m = msg.members.map(toWire);
      head.r = msg.reply;
      break;
  }
  const json = JSON.stringify(head);
  // One copy: UTF-8 into a reused scratch buffer, then into the exact-size result.
  if (scratch.length < json.length * 3 + 4) scratch = new Uint8Array(json.length * 3 + 4);
  const n = te.encodeInto(json, scratch.subarray(4)).written;
  const tail = meta?.length ?? 0;
  const bytes = new Uint8Array(4 + n + tail);
  new DataView(bytes.buffer).setUint32(0, n);
  bytes.set(scratch.subarray(4, 4 + n), 4);
  if (meta && tail) bytes.set(meta, 4 + n);
  sizes.set(msg, bytes);
  return bytes;
}

const isCount = (x: unknown): x is number =>
  typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
const isId = (x: unknown): x is string =>
  typeof x === "string" && x.length > 0 && x.length <= MAX_ID_CHARS;

function isAddrs(x: unknown): x is string[] {
  if (!Array.isArray(x) || x.length > MAX_ADDRS) return false;
  for (const a of x) {
    if (typeof a !== "string" || a.length === 0 || a.length > MAX_ADDR_CHARS) return false;
  }
  return true;
}

function readUpdates(x: unknown, max: number): Update[] | undefined {
  if (!Array.isArray(x) || x.length > max) return undefined;
  const out: Update[] = [];
  for (const w of x) {
    if (!Array.isArray(w) || w.length < 3 || w.length > 4) return undefined;
    const [id, inc, st, addrs] = w as unknown[];
    const state = typeof st === "string" ? CODE_STATE[st] : undefined;
    if (!isId(id) || !isCount(inc) || !state) return undefined;
    if (w.length === 4 && !isAddrs(addrs)) return undefined;
    out.push({ id, incarnation: inc, state, addrs: (addrs as string[] | undefined) ?? [] });
  }
  return out;
}

function onlyKeys(h: Record<string, unknown>, keys: string[]): boolean {
  for (const k in h) if (!keys.includes(k)) return false;
  return true;
}

/**
 * The message in `bytes`, or `undefined` when it is malformed, oversized, or carries a field
 * out of bounds.
 *
 * @example
 * ```ts
 * const msg = decodeSwim(bytes);
 * if (msg) swim.receive(from, msg);
 * ```
 */
export function decodeSwim(bytes: Uint8Array): SwimMessage | undefined {
  if (bytes.length < 4 || bytes.length > MAX_SYNC_BYTES) return undefined;
  const n = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  if (n > bytes.length - 4) return undefined;
  let h: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(td.decode(bytes.subarray(4, 4 + n)));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
    h = parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const tail = bytes.subarray(4 + n);
  if (h.t !== "y" && bytes.length > MAX_MESSAGE_BYTES) return undefined;
  if (tail.length > 0 && (h.t !== "p" && h.t !== "a" || tail.length > MAX_META_BYTES)) {
    return undefined;
  }
  let msg: SwimMessage | undefined;
  if (h.t === "y") {
    const members = readUpdates(h.m, MAX_SYNC_MEMBERS);
    if (members && typeof h.r === "boolean" && onlyKeys(h, ["t", "m", "r"])) {
      msg = { t: "sync", members, reply: h.r };
    }
  } else {
    const updates = readUpdates(h.u, MAX_UPDATES);
    if (!updates) return undefined;
    const seq = h.s;
    if (h.t === "g") {
      if (onlyKeys(h, ["t", "u"])) msg = { t: "gossip", updates };
    } else if (!isCount(seq)) return undefined;
    else if (h.t === "p" || h.t === "a") {
      if (
        !onlyKeys(h, ["t", "s", "u", "w", "v"]) || (h.w !== undefined && (h.t !== "a" || h.w !== 1))
      ) return undefined;
      const v = h.v;
      if (
        v !== undefined &&
        (!Array.isArray(v) || v.length !== 2 || !isCount(v[0]) || !isCount(v[1]) ||
          v[1] > 0xffffffff)
      ) return undefined;
      msg = h.t === "p" ? { t: "ping", seq, updates } : { t: "ack", seq, updates };
      // A copy, so the meta a member keeps does not pin the whole received buffer.
      if (tail.length > 0) msg.meta = tail.slice();
      if (h.w === 1 && msg.t === "ack") msg.who = true;
      if (Array.isArray(v)) msg.view = { n: v[0] as number, h: v[1] as number };
    } else if (h.t === "n") {
      if (onlyKeys(h, ["t", "s", "u"])) msg = { t: "nack", seq, updates };
    } else if (h.t === "r") {
      if (isId(h.g) && isAddrs(h.ga) && onlyKeys(h, ["t", "s", "g", "ga", "u"])) {
        msg = { t: "ping-req", seq, target: h.g, addrs: h.ga, updates };
      }
    }
  }
  if (msg) sizes.set(msg, bytes.length);
  return msg;
}

/**
 * Encoded size of `msg` in bytes: remembered when it was encoded or decoded here, else encoded now.
 *
 * @example
 * ```ts
 * stats.sentBytes += wireSize(msg);
 * ```
 */
export function wireSize(msg: SwimMessage): number {
  const known = sizes.get(msg);
  if (known === undefined) return encodeSwim(msg).length;
  return typeof known === "number" ? known : known.length;
}

/**
 * Encoded size of one update inside a message's update list (its tuple plus a comma), for the
 * piggyback byte budget.
 *
 * @example
 * ```ts
 * updateSize({ id: "12D3…", addrs: [], incarnation: 3, state: "dead" }); // ~66
 * ```
 */
export function updateSize(u: Update): number {
  let n = u.id.length + 12 + String(u.incarnation).length;
  for (const a of u.addrs) n += a.length + 3;
  return u.addrs.length ? n + 3 : n;
}
