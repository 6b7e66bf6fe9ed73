/**
 * The host↔child wire: `[u32 length][u8 type][u32 id][payload]`, big-endian, where `length`
 * counts type, id and payload. Calls are multiplexed by id over one unix socket per child.
 * Used by both sides, so it imports nothing and needs no permission.
 *
 * @module
 */
import { decodeHead, headParts } from "../../core/codec.ts";

/** Frame types. Host→child below 20, child→host from 20. */
export const T = {
  LOAD: 1, // JSON {code, vars, peerId, name}
  REQ: 2, // [u32 headLen][head JSON][inline body]
  REQ_CHUNK: 3,
  REQ_END: 4,
  CANCEL: 5,
  RES_CREDIT: 6, // u32 bytes consumed
  KV_REPLY: 7, // [u32 jsonLen][JSON][value bytes]
  READY: 20,
  LOADED: 21, // JSON {ok, message?}
  RES: 22, // [u32 headLen][head JSON][inline body]
  RES_CHUNK: 23,
  RES_END: 24,
  RES_ERROR: 25, // JSON {message}
  REQ_CREDIT: 26, // u32 bytes consumed
  KV_CALL: 27, // [u32 jsonLen][op JSON][value bytes]
  LOG: 28, // JSON {l, m, r?}
  CANCEL_ACK: 29,
} as const;

const HEADER = 9;
const te = new TextEncoder();
const td = new TextDecoder();

/** Encodes a JSON part followed by raw bytes, as used by REQ, RES, KV_CALL and KV_REPLY (the core codec). */
export function jsonPart(value: unknown, tail?: Uint8Array): Uint8Array[] {
  return headParts(value, tail);
}

/** Splits a payload made by {@linkcode jsonPart}; the JSON is parsed, not validated. */
export function splitJson(payload: Uint8Array): { json: unknown; tail: Uint8Array } {
  const { head, tail } = decodeHead(payload);
  return { json: head, tail };
}

/** Encodes a JSON-only payload. */
export function json(value: unknown): Uint8Array[] {
  return [te.encode(JSON.stringify(value))];
}

/** Decodes a JSON-only payload. */
export function parseJson(payload: Uint8Array): unknown {
  return JSON.parse(td.decode(payload));
}

/** Encodes a u32 payload (credits). */
export function u32(n: number): Uint8Array[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return [b];
}

/** A sink for {@linkcode FrameWriter} writing all of each buffer to `conn`. */
export function writeAllTo(conn: { write(p: Uint8Array): Promise<number> }) {
  return async (buf: Uint8Array): Promise<void> => {
    for (let off = 0; off < buf.length;) off += await conn.write(buf.subarray(off));
  };
}

/** Decodes a u32 payload, or -1 when the payload is not 4 bytes. */
export function readU32(payload: Uint8Array): number {
  if (payload.length !== 4) return -1;
  return new DataView(payload.buffer, payload.byteOffset, 4).getUint32(0);
}

/** Writes `n` big-endian at `at`: no `DataView` made for each of a frame's numbers. */
function putU32(b: Uint8Array, at: number, n: number): void {
  b[at] = n >>> 24;
  b[at + 1] = (n >>> 16) & 0xff;
  b[at + 2] = (n >>> 8) & 0xff;
  b[at + 3] = n & 0xff;
}

/**
 * Batches frames and writes them with one write per tick; while a write is in flight further
 * frames join the next batch, so under load frames coalesce without added latency when idle.
 * When a batch is written is `schedule`'s choice: a microtask by default; the host passes
 * `setImmediate`, which runs once the event loop has handed out everything that arrived, as
 * `Deno.serve` hands one request per turn (measured at 50 connections: one write per frame with
 * a microtask, ~30 frames per write with setImmediate).
 */
export class FrameWriter {
  /** Frames not yet handed to the sink, encoded in place: no allocation per frame. */
  #buf = new Uint8Array(16 * 1024);
  #size = 0;
  /** The buffer of the last write, reused once the sink is done with it. */
  #spare: Uint8Array<ArrayBuffer> | undefined;
  #writing = false;
  #scheduled = false;
  #closed = false;
  readonly #sink: (buf: Uint8Array) => Promise<void>;
  readonly #onError: (e: unknown) => void;
  readonly #schedule: (flush: () => void) => void;

  constructor(
    sink: (buf: Uint8Array) => Promise<void>,
    onError: (e: unknown) => void,
    schedule: (flush: () => void) => void = queueMicrotask,
  ) {
    this.#sink = sink;
    this.#onError = onError;
    this.#schedule = schedule;
  }

  /** Bytes queued but not yet handed to the sink. */
  get buffered(): number {
    return this.#size;
  }

  send(type: number, id: number, payload: Uint8Array[] = []): void {
    if (this.#closed) return;
    let len = 0;
    for (const p of payload) len += p.length;
    let at = this.#frame(type, id, len);
    for (const p of payload) {
      this.#buf.set(p, at);
      at += p.length;
    }
    this.#queued();
  }

  /**
   * Sends a frame whose payload is `value` as JSON then `tail` (a string as UTF-8), as
   * {@linkcode jsonPart} lays it out, encoded straight into the batch.
   */
  sendJson(type: number, id: number, value: unknown, tail?: Uint8Array | string): void {
    if (this.#closed) return;
    const text = JSON.stringify(value);
    const str = typeof tail === "string";
    // At most 3 bytes a UTF-16 unit; the frame's length is written once the JSON's is known.
    let tailLen = str ? tail.length * 3 : tail?.length ?? 0;
    const start = this.#size;
    const at = this.#frame(type, id, 4 + text.length * 3 + tailLen);
    const { written } = te.encodeInto(text, this.#buf.subarray(at + 4));
    putU32(this.#buf, at, written);
    if (str) {
      tailLen = tail.length === 0
        ? 0
        : te.encodeInto(tail, this.#buf.subarray(at + 4 + written)).written;
    } else if (tail && tailLen > 0) this.#buf.set(tail, at + 4 + written);
    const len = 5 + 4 + written + tailLen;
    putU32(this.#buf, start, len);
    this.#size = start + 4 + len;
    this.#queued();
  }

  close(): void {
    this.#closed = true;
    this.#size = 0;
  }

  /** Reserves a frame of up to `max` payload bytes and writes its header; returns the payload's offset. */
  #frame(type: number, id: number, max: number): number {
    const need = this.#size + HEADER + max;
    if (need > this.#buf.length) {
      let n = this.#buf.length * 2;
      while (n < need) n *= 2;
      const next = new Uint8Array(n);
      next.set(this.#buf.subarray(0, this.#size));
      this.#buf = next;
    }
    const at = this.#size;
    putU32(this.#buf, at, 5 + max);
    this.#buf[at + 4] = type;
    putU32(this.#buf, at + 5, id);
    this.#size = at + HEADER + max;
    return at + HEADER;
  }

  #queued(): void {
    if (!this.#writing && !this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(() => this.#flush());
    }
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    this.#writing = true;
    try {
      while (this.#size > 0 && !this.#closed) {
        const full = this.#buf;
        const out = full.subarray(0, this.#size);
        // Frames sent while this write is under way go to the other buffer.
        this.#buf = this.#spare ?? new Uint8Array(16 * 1024);
        this.#spare = undefined;
        this.#size = 0;
        await this.#sink(out);
        // A buffer grown for a large body is let go rather than kept.
        if (full.length <= 256 * 1024) this.#spare = full;
      }
    } catch (e) {
      this.#closed = true;
      this.#onError(e);
    } finally {
      this.#writing = false;
    }
  }
}

/**
 * Reads frames from a byte stream into one reused, growable buffer (a BYOB reader: no
 * allocation per read, and never concatenation, which bloated a prototype child to 150 MB).
 * A payload is a view into that buffer, valid only during `onFrame`: copy what you keep.
 */
export class FrameReader {
  #buf = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  readonly #max: number;
  readonly #onFrame: (type: number, id: number, payload: Uint8Array) => void;

  constructor(max: number, onFrame: (type: number, id: number, payload: Uint8Array) => void) {
    this.#max = max;
    this.#onFrame = onFrame;
  }

  /**
   * Reads `src` (a `Deno.Conn`: plain reads, no stream machinery per chunk) to its end; throws
   * on a malformed frame or a throwing `onFrame`.
   */
  async readAll(src: { read(p: Uint8Array): Promise<number | null> }): Promise<void> {
    for (;;) {
      this.#makeRoom();
      const n = await src.read(this.#buf.subarray(this.#end));
      if (n === null) return;
      this.#end += n;
      this.#drain();
    }
  }

  /** Feeds bytes (tests, and sources without BYOB). */
  push(chunk: Uint8Array): void {
    for (let off = 0; off < chunk.length;) {
      this.#makeRoom();
      const n = Math.min(chunk.length - off, this.#buf.length - this.#end);
      this.#buf.set(chunk.subarray(off, off + n), this.#end);
      this.#end += n;
      off += n;
      this.#drain();
    }
  }

  /** Ensures free space at the end: compacts, or doubles to fit the pending frame. */
  #makeRoom(): void {
    const have = this.#end - this.#start;
    let need = 64 * 1024;
    if (have >= 4) {
      const len = new DataView(this.#buf.buffer, this.#start, 4).getUint32(0);
      need = Math.max(need, 4 + len - have);
    }
    if (this.#buf.length - this.#end >= need) return;
    if (have + need <= this.#buf.length && this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      let size = this.#buf.length;
      while (size < have + need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
    }
    this.#start = 0;
    this.#end = have;
  }

  #drain(): void {
    const buf = this.#buf;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    let off = this.#start;
    while (this.#end - off >= HEADER) {
      const len = dv.getUint32(off);
      if (len < 5 || len > this.#max) throw new Error(`Bad frame length: ${len}`);
      if (this.#end - off < 4 + len) break;
      const type = buf[off + 4]!;
      const id = dv.getUint32(off + 5);
      const body = buf.subarray(off + HEADER, off + 4 + len);
      off += 4 + len;
      this.#onFrame(type, id, body);
    }
    this.#start = off;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }
}
