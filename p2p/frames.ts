/**
 * Length-prefixed frames over a libp2p stream, with bounded sizes and
 * backpressure.
 *
 * A frame is an unsigned LEB128 varint length followed by that many bytes
 * (the same framing as `lpStream` from `@libp2p/utils`). Unlike `lpStream`,
 * {@link FrameReader} pauses the stream when its buffer passes a high-water
 * mark and nobody is reading, so yamux stops granting window and a fast
 * sender cannot grow our memory: that is what lets a 100 MB body stream
 * through in bounded memory.
 *
 * @module
 */
import type { Stream, StreamCloseEvent, StreamMessageEvent } from "@libp2p/interface";
import { READ_HIGH_WATER_BYTES } from "./constants.ts";
import { MeshError } from "./errors.ts";
import { encode as encodeUvarint } from "uint8-varint";
import { Uint8ArrayList } from "uint8arraylist";

/** Longest accepted varint length prefix: 7 bytes encode up to 2^49, far beyond any frame bound. */
const MAX_VARINT_BYTES = 7;

/**
 * Encode `n` as an unsigned LEB128 varint.
 *
 * @example
 * ```ts
 * encodeVarint(300); // Uint8Array [0xac, 0x02]
 * ```
 */
export function encodeVarint(n: number): Uint8Array {
  return encodeUvarint(n);
}

/**
 * Decode a varint at the start of `buf`: `undefined` when more bytes are needed; throws
 * BAD_FRAME when too long. (uint8-varint's decoder cannot tell "not all here yet" from "bad".)
 */
function decodeVarint(buf: Uint8ArrayList): { value: number; bytes: number } | undefined {
  let value = 0;
  let scale = 1;
  const n = Math.min(buf.byteLength, MAX_VARINT_BYTES);
  for (let i = 0; i < n; i++) {
    const byte = buf.get(i);
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return { value, bytes: i + 1 };
    scale *= 128;
  }
  if (buf.byteLength >= MAX_VARINT_BYTES) {
    throw new MeshError("BAD_FRAME", "Bad frame: length prefix too long");
  }
  return undefined;
}

/**
 * Write one frame (length prefix + the concatenation of `parts`) and wait
 * for the stream to drain if its send buffer is full.
 *
 * @example
 * ```ts
 * await writeFrame(stream, [new Uint8Array([0]), payload], signal);
 * ```
 */
export function writeFrame(
  stream: Stream,
  parts: Uint8Array[],
  signal?: AbortSignal,
): Promise<void> {
  const batch = new FrameBatch();
  batch.add(parts);
  return batch.flush(stream, signal);
}

/**
 * Frames collected to go out together: small parts are copied next to their
 * length prefixes into one buffer; a frame's large last part is sent as is,
 * in order after what precedes it (sends are queued in order, so frames stay
 * contiguous). Any frame may follow a large part: a head of any size may be
 * followed by its body and END in the same flush.
 *
 * @example
 * ```ts
 * const batch = new FrameBatch();
 * batch.add([HEAD, head]);
 * batch.add([END]);
 * await batch.flush(stream, signal); // one send (two or three with a large head)
 * ```
 */
export class FrameBatch {
  /** Prefixes and small parts to be copied into the next send. */
  #small: Uint8Array[] = [];
  #smallBytes = 0;
  /** Sends ready to go, in order: copied runs of small parts and large parts as they are. */
  #sends: Uint8Array[] = [];
  #bytes = 0;
  #large = false;

  /** Bytes batched so far, prefixes included. */
  get byteLength(): number {
    return this.#bytes;
  }

  /** True when a large part was added since the last flush: flush it before reading more, for backpressure. */
  get sealed(): boolean {
    return this.#large;
  }

  /** Append one frame: length prefix + the concatenation of `parts`; `copy` copies even a large last part. */
  add(parts: Uint8Array[], copy = false): void {
    let len = 0;
    for (const p of parts) len += p.byteLength;
    const last = parts[parts.length - 1];
    const large = !copy && last !== undefined && last.byteLength > SMALL_PART_BYTES
      ? last
      : undefined;
    const prefix = encodeVarint(len);
    this.#small.push(prefix);
    this.#smallBytes += prefix.byteLength;
    const n = large === undefined ? parts.length : parts.length - 1;
    for (let i = 0; i < n; i++) {
      this.#small.push(parts[i]!);
      this.#smallBytes += parts[i]!.byteLength;
    }
    this.#bytes += prefix.byteLength + len;
    if (large !== undefined) {
      this.#cut();
      this.#sends.push(large);
      this.#large = true;
    }
  }

  /** Copy the small parts gathered so far into one send. */
  #cut(): void {
    if (this.#smallBytes === 0) return;
    const out = new Uint8Array(this.#smallBytes);
    let off = 0;
    for (const p of this.#small) {
      out.set(p, off);
      off += p.byteLength;
    }
    this.#sends.push(out);
    this.#small = [];
    this.#smallBytes = 0;
  }

  /** Send everything batched (one `send` per copied run or large part), empty the batch, and wait for drain if the stream is full. */
  async flush(stream: Stream, signal?: AbortSignal): Promise<void> {
    this.#cut();
    if (this.#sends.length === 0) return;
    const sends = this.#sends;
    this.#sends = [];
    this.#bytes = 0;
    this.#large = false;
    let ok = true;
    for (const s of sends) ok = stream.send(s);
    if (!ok) await waitForDrain(stream, signal);
  }
}

/**
 * Wait until the stream's send buffer drains. Not `stream.onDrain()`: in
 * @libp2p/utils 7.4.1 its promise is never reset after the first drain, so
 * later calls resolve at once and a writer outruns a slow reader without
 * bound (measured: 20 MB queued against a paused receiver).
 */
function waitForDrain(stream: Stream, signal?: AbortSignal): Promise<void> {
  if (!stream.writableNeedsDrain) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      stream.removeEventListener("drain", onDrain);
      stream.removeEventListener("close", onClose);
      signal?.removeEventListener("abort", onAbort);
    };
    const onDrain = () => {
      done();
      resolve();
    };
    const onClose = (evt: StreamCloseEvent) => {
      done();
      reject(evt.error ?? new MeshError("PEER_FAILED", "Stream closed while writing"));
    };
    const onAbort = () => {
      done();
      reject(signal?.reason);
    };
    if (signal?.aborted) return onAbort();
    stream.addEventListener("drain", onDrain);
    stream.addEventListener("close", onClose);
    signal?.addEventListener("abort", onAbort);
  });
}

/** Parts up to this size are copied next to the length prefix; larger last parts are sent without copying. */
const SMALL_PART_BYTES = 4096;

/**
 * Reads frames from one stream. Create it as soon as the stream exists and
 * keep it for the stream's life (it owns the stream's `message` events).
 *
 * @example
 * ```ts
 * const reader = new FrameReader(stream);
 * const frame = await reader.next(4 << 20); // null at a clean end of stream
 * ```
 */
export class FrameReader {
  readonly #stream: Stream;
  readonly #buf = new Uint8ArrayList();
  readonly #highWater: number;
  #reading = false;
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(stream: Stream, opts?: { highWater?: number }) {
    this.#stream = stream;
    this.#highWater = opts?.highWater ?? READ_HIGH_WATER_BYTES;
    stream.addEventListener("message", this.#onMessage);
    stream.addEventListener("remoteCloseWrite", this.#onEnd);
    stream.addEventListener("close", this.#onClose);
    if (stream.remoteWriteStatus !== "writable") this.#ended = true;
    if (stream.status === "reset" || stream.status === "aborted") {
      this.#error = new MeshError("PEER_FAILED", "Stream was reset");
    }
  }

  /** Bytes received and not yet returned as frames. */
  get buffered(): number {
    return this.#buf.byteLength;
  }

  #onMessage = (evt: StreamMessageEvent): void => {
    const data = evt.data;
    this.#buf.append(data instanceof Uint8Array ? data : data.subarray());
    if (
      !this.#reading && this.#buf.byteLength >= this.#highWater &&
      this.#stream.readStatus === "readable"
    ) {
      this.#stream.pause();
    }
    this.#notify();
  };

  #onEnd = (): void => {
    this.#ended = true;
    this.#notify();
  };

  #onClose = (evt: StreamCloseEvent): void => {
    this.#ended = true;
    if (evt.error !== undefined && this.#error === undefined) {
      this.#error = new MeshError("PEER_FAILED", `Stream closed: ${evt.error.message}`, {
        cause: evt.error,
      });
    }
    this.#notify();
  };

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #resume(): void {
    if (this.#stream.readStatus === "paused") this.#stream.resume();
  }

  /**
   * The next frame's payload, or `null` when the remote closed its write side
   * at a frame boundary. Throws `MeshError` `FRAME_TOO_LARGE` (prefix over
   * `maxBytes`), `BAD_FRAME` (bad prefix, truncated frame) or `PEER_FAILED`
   * (stream reset). After a throw the stream must be aborted, not reused.
   */
  async next(maxBytes: number, signal?: AbortSignal): Promise<Uint8Array | null> {
    this.#reading = true;
    try {
      while (true) {
        const frame = this.nextBuffered(maxBytes);
        if (frame !== undefined) return frame;
        if (this.#error !== undefined) throw this.#error;
        if (this.#ended) {
          if (this.#buf.byteLength === 0) return null;
          throw new MeshError("BAD_FRAME", "Bad frame: stream ended inside a frame");
        }
        signal?.throwIfAborted();
        this.#resume();
        await this.#waitForData(signal);
      }
    } finally {
      this.#reading = false;
    }
  }

  /**
   * The next frame's payload if it is all buffered already, else `undefined`
   * (nothing is consumed); throws as {@link next} does for a bad prefix.
   * Never waits and never reports the end of the stream: {@link next} does.
   */
  nextBuffered(maxBytes: number): Uint8Array | undefined {
    const head = decodeVarint(this.#buf);
    if (head === undefined) return undefined;
    if (head.value > maxBytes) {
      throw new MeshError("FRAME_TOO_LARGE", `Frame too large: ${head.value} > ${maxBytes} bytes`);
    }
    const total = head.bytes + head.value;
    if (this.#buf.byteLength < total) return undefined;
    // A view when the frame sits in one chunk, a copy only when it spans several.
    const frame = this.#buf.subarray(head.bytes, total);
    this.#buf.consume(total);
    if (this.#buf.byteLength < this.#highWater) this.#resume();
    return frame;
  }

  #waitForData(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal === undefined) {
        this.#wake = resolve;
        return;
      }
      const onAbort = () => {
        this.#wake = undefined;
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#wake = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
    });
  }
}
