/**
 * Private: invoke message bodies on the wire — frame tags, sending a head
 * plus body with coalesced writes, and a pull-based body reader.
 *
 * @module
 */
import type { Stream } from "@libp2p/interface";
import { concatBytes } from "../core/mod.ts";
import { MAX_INVOKE_BODY_FRAME_BYTES } from "./constants.ts";
import { MeshError } from "./errors.ts";
import { FrameBatch, type FrameReader } from "./frames.ts";

/** Frame tags: the first byte of every invoke frame. */
export const T_HEAD = 1;
export const T_BODY = 2;
export const T_END = 3;
export const T_ERROR = 4;
const BODY = new Uint8Array([T_BODY]);
const END = new Uint8Array([T_END]);

/** Largest body frame we send: fewer frames (and awaits) per MB; receivers accept up to MAX_INVOKE_BODY_FRAME_BYTES. */
const BODY_CHUNK_BYTES = 256 * 1024;

/** Body bytes already available are coalesced with the head (or each other) into one send up to this size. */
const COALESCE_BYTES = 64 * 1024;

/**
 * Microtask turns to wait for a body read before sending what is batched:
 * a buffered body (string, bytes, a frame already received) resolves in a
 * few turns; a body still being produced must not hold back the head.
 */
const READY_TURNS = 32;

type Read = ReadableStreamReadResult<Uint8Array>;

/** The read's result if it settles within READY_TURNS microtask turns, else undefined (it stays pending). */
async function readSoon(p: Promise<Read>): Promise<Read | undefined> {
  let state = 0;
  let value: Read | undefined;
  let error: unknown;
  p.then((v) => {
    state = 1;
    value = v;
  }, (e) => {
    state = 2;
    error = e;
  });
  for (let i = 0; i < READY_TURNS && state === 0; i++) await null;
  if (state === 2) throw error;
  return value;
}

/**
 * Send a head frame, then `body` as BODY frames, then END. Whatever of the
 * body is ready at once (up to COALESCE_BYTES; bytes are ready) goes in the head's send, so
 * a small message is one write; large chunks go out as BODY_CHUNK_BYTES
 * frames without copying, waiting for drain between sends (backpressure).
 * `headSent` settles once the head is handed to the stream; `done` when END
 * is. On a body error, what was batched is sent, the body cancelled and
 * `done` rejects (the caller resets the stream).
 */
export function sendMessage(
  stream: Stream,
  head: Uint8Array[],
  body: ReadableStream<Uint8Array> | Uint8Array | null,
  signal?: AbortSignal,
): { headSent: Promise<void>; done: Promise<void> } {
  const sent = Promise.withResolvers<void>();
  sent.promise.catch(() => {});
  let headOut = false;
  const batch = new FrameBatch();
  batch.add(head);
  const flush = async () => {
    await batch.flush(stream, signal);
    if (!headOut) {
      headOut = true;
      sent.resolve();
    }
  };
  /** Batch `v` as BODY frames, flushing as the batch fills. */
  const add = async (v: Uint8Array) => {
    for (let off = 0; off < v.byteLength; off += BODY_CHUNK_BYTES) {
      const part = off === 0 && v.byteLength <= BODY_CHUNK_BYTES
        ? v
        : v.subarray(off, off + BODY_CHUNK_BYTES);
      // Copy parts that fit in the coalescing budget (a copy is cheaper than a send); send larger ones as is.
      const fits = batch.byteLength + part.byteLength <= COALESCE_BYTES;
      if (!fits && part.byteLength <= COALESCE_BYTES) await flush();
      batch.add([BODY, part], part.byteLength <= COALESCE_BYTES);
      if (batch.sealed || batch.byteLength >= COALESCE_BYTES) await flush();
    }
  };
  const done = (async () => {
    if (!(body instanceof ReadableStream)) {
      if (body !== null && body.byteLength > 0) await add(body);
      batch.add([END]);
      return await flush();
    }
    const reader = body.getReader();
    try {
      while (true) {
        const p = reader.read();
        let r = batch.byteLength === 0 ? await p : await readSoon(p);
        if (r === undefined) {
          await flush();
          r = await p;
        }
        if (r.done) break;
        await add(r.value);
      }
    } catch (err) {
      await flush().catch(() => {});
      await reader.cancel(err).catch(() => {});
      throw err;
    }
    // No releaseLock: the body is ours and done (releasing costs ~4% of a small call).
    batch.add([END]);
    await flush();
  })();
  done.catch((err) => sent.reject(err));
  return { headSent: sent.promise, done };
}

/**
 * A body over BODY…END frames. When its END is buffered already (a small
 * body comes in the same write as its head), the bytes themselves: no
 * stream to build, nor for an HTTP server to pull from. Otherwise a
 * pull-based stream, starting with what is buffered: a frame is read only
 * when the consumer asks, so the FrameReader's pause applies backpressure
 * to the sender. Throws `BAD_FRAME` (after `onError`) for a bad buffered frame.
 */
export function receiveBody(
  reader: FrameReader,
  onEnd: () => void,
  onError: (err: unknown) => void,
  signal?: AbortSignal,
): ReadableStream<Uint8Array> | Uint8Array {
  const here: Uint8Array[] = [];
  try {
    let f: Uint8Array | undefined;
    while ((f = reader.nextBuffered(MAX_INVOKE_BODY_FRAME_BYTES)) !== undefined) {
      if (f[0] === T_BODY) here.push(f.subarray(1));
      else if (f[0] === T_END && f.byteLength === 1) {
        onEnd();
        return concatBytes(here);
      } else throw new MeshError("BAD_FRAME", "Bad frame: expected a body frame");
    }
  } catch (err) {
    onError(err);
    throw err;
  }
  return new ReadableStream<Uint8Array>({
    start(ctrl) {
      for (const b of here) ctrl.enqueue(b);
    },
    async pull(ctrl) {
      try {
        const f = await reader.next(MAX_INVOKE_BODY_FRAME_BYTES, signal);
        if (f === null) throw new MeshError("PEER_FAILED", "Peer closed the stream inside a body");
        if (f[0] === T_BODY) ctrl.enqueue(f.subarray(1));
        else if (f[0] === T_END && f.byteLength === 1) {
          ctrl.close();
          onEnd();
        } else throw new MeshError("BAD_FRAME", "Bad frame: expected a body frame");
      } catch (err) {
        const e = signal?.aborted ? signal.reason : err;
        onError(e);
        ctrl.error(e);
      }
    },
    cancel(reason) {
      onError(reason instanceof Error ? reason : new Error("Body cancelled"));
    },
  }, { highWaterMark: 0 });
}
