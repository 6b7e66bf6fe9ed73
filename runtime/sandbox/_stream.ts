/**
 * Credit-based body streaming over frames, used by both sides: an {@linkcode Inbound} turns
 * chunk frames into a ReadableStream and grants credit as its reader consumes; {@linkcode pump}
 * sends a stream as chunk frames, never more than the window ahead of the reader's credit.
 *
 * @module
 */
import { CHUNK_MAX, INLINE_BODY_MAX, STREAM_WINDOW } from "./constants.ts";

/** A body arriving as frames, exposed as a pull-based ReadableStream. */
export class Inbound {
  readonly readable: ReadableStream<Uint8Array>;
  #queue: Uint8Array[] = [];
  #done = false;
  #error: unknown = undefined;
  #failed = false;
  #wake: (() => void) | undefined;

  /**
   * @param onCredit called with the bytes the reader took, to grant the sender more window
   * @param onCancel called when the reader cancels the stream
   */
  constructor(onCredit: (n: number) => void, onCancel: () => void) {
    this.readable = new ReadableStream<Uint8Array>({
      pull: async (c) => {
        while (this.#queue.length === 0 && !this.#done && !this.#failed) {
          await new Promise<void>((r) => this.#wake = r);
        }
        const chunk = this.#queue.shift();
        if (chunk) {
          c.enqueue(chunk);
          onCredit(chunk.length);
        } else if (this.#failed) c.error(this.#error);
        else c.close();
      },
      cancel: () => {
        this.#done = true;
        this.#queue = [];
        onCancel();
      },
    }, { highWaterMark: 0 });
  }

  push(chunk: Uint8Array): void {
    if (this.#done || this.#failed) return;
    this.#queue.push(chunk);
    this.#poke();
  }

  end(): void {
    this.#done = true;
    this.#poke();
  }

  fail(error: unknown): void {
    if (this.#done || this.#failed) return;
    this.#failed = true;
    this.#error = error;
    this.#queue = [];
    this.#poke();
  }

  #poke(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
}

/** The sender's view of a window: bytes sent but not yet credited. */
export class Window {
  #inflight = 0;
  #wake: (() => void) | undefined;
  cancelled = false;
  readonly #size: number;

  constructor(size: number) {
    this.#size = size;
  }

  sent(n: number): void {
    this.#inflight += n;
  }

  credit(n: number): void {
    this.#inflight = Math.max(0, this.#inflight - n);
    this.#poke();
  }

  cancel(): void {
    this.cancelled = true;
    this.#poke();
  }

  /** Resolves once sending more stays within the window (or the stream is cancelled). */
  async ready(): Promise<void> {
    while (this.#inflight >= this.#size && !this.cancelled) {
      await new Promise<void>((r) => this.#wake = r);
    }
  }

  #poke(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }
}

/** A read already started, handed from {@linkcode readHead} to {@linkcode pump}. */
export type PendingRead = Promise<ReadableStreamReadResult<Uint8Array>>;

/**
 * Sends `first` chunks then the rest of `reader` (starting with `pending`) as chunks of at most
 * `chunkMax` bytes, within `win`. Resolves `true` when the stream ended, `false` when cancelled;
 * rejects if it errored.
 */
export async function pump(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  first: Uint8Array[],
  pending: PendingRead | undefined,
  win: Window,
  chunkMax: number,
  send: (chunk: Uint8Array) => void,
): Promise<boolean> {
  const sendAll = async (chunk: Uint8Array) => {
    for (let off = 0; off < chunk.length && !win.cancelled; off += chunkMax) {
      await win.ready();
      if (win.cancelled) return;
      const part = chunk.subarray(off, off + chunkMax);
      win.sent(part.length);
      send(part);
    }
  };
  for (const c of first) await sendAll(c);
  while (!win.cancelled) {
    const { done, value } = await (pending ?? reader.read());
    pending = undefined;
    if (done) return true;
    if (!(value instanceof Uint8Array)) throw new TypeError("Body chunk is not a Uint8Array");
    await sendAll(value);
  }
  reader.cancel().catch(() => {});
  return false;
}

const TICK = Symbol("tick");
const SOON = Symbol("soon");

/** Resolves to {@linkcode SOON} after a few microtask hops, later than a read of queued bytes. */
const soon = (): Promise<typeof SOON> =>
  Promise.resolve().then(() => undefined).then(() => undefined).then(() => SOON);

/**
 * Reads what a body has ready now, up to `max` bytes: `{ inline }` when the whole body came,
 * otherwise `{ first, reader, pending }` to stream the rest. A body that is not done within a
 * macrotask (a slow upload, server-sent events) streams at once rather than waiting to fill.
 */
export async function readHead(
  body: ReadableStream<Uint8Array>,
  max: number,
): Promise<
  | { inline: Uint8Array }
  | { first: Uint8Array[]; reader: ReadableStreamDefaultReader<Uint8Array>; pending?: PendingRead }
> {
  const reader = body.getReader();
  const first: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let tick: Promise<typeof TICK> | undefined;
  try {
    while (size <= max) {
      const p = reader.read();
      // A body in memory (most responses) answers within a few microtasks: no timer for it.
      let got: ReadableStreamReadResult<Uint8Array> | symbol = await Promise.race([p, soon()]);
      if (got === SOON) {
        tick ??= new Promise((r) => timer = setTimeout(() => r(TICK), 0));
        got = await Promise.race([p, tick]);
      }
      if (got === TICK) return { first, reader, pending: p };
      const { done, value } = got as ReadableStreamReadResult<Uint8Array>;
      if (done) {
        // No releaseLock(): the stream is closed, and a release rejects `closed` with a new
        // TypeError (a stack trace per call: 8 µs, two thirds of this function's cost).
        if (first.length === 1) return { inline: first[0]! };
        const all = new Uint8Array(size);
        let off = 0;
        for (const c of first) {
          all.set(c, off);
          off += c.length;
        }
        return { inline: all };
      }
      if (!(value instanceof Uint8Array)) throw new TypeError("Body chunk is not a Uint8Array");
      first.push(value);
      size += value.length;
    }
    return { first, reader };
  } finally {
    clearTimeout(timer);
  }
}

/** The frames one body goes out as: its head (with the body mode), chunks, and the end. */
export interface BodyFrames {
  /** Mode 0: no body; 1: `inline` holds all of it; 2: chunks follow. */
  head(mode: 0 | 1 | 2, inline?: Uint8Array): void;
  chunk(chunk: Uint8Array): void;
  end(): void;
}

/**
 * Sends a request or response body the one way both sides do it: inline in the head frame when
 * it is small and ready, otherwise streamed in chunks within a credit window, which `onWindow`
 * receives so that credit frames can reach it. Stops quietly once `live()` turns false.
 */
export async function sendBody(
  body: ReadableStream<Uint8Array> | null,
  frames: BodyFrames,
  live: () => boolean,
  onWindow: (win: Window) => void,
): Promise<void> {
  if (!body) return frames.head(0);
  const got = await readHead(body, INLINE_BODY_MAX);
  if (!live()) return;
  if ("inline" in got) return frames.head(1, got.inline);
  frames.head(2);
  const win = new Window(STREAM_WINDOW);
  onWindow(win);
  const ended = await pump(
    got.reader,
    got.first,
    got.pending,
    win,
    CHUNK_MAX,
    (c) => frames.chunk(c),
  );
  if (ended && live()) frames.end();
}
