/**
 * Request bodies read with a bound, so an oversized body is refused with 413
 * as soon as it passes the limit instead of being buffered whole.
 * A body streamed on can also be kept (bounded) to be sent again
 * ({@linkcode replayable}).
 */
import { concatBytes } from "../core/mod.ts";
import { VirgoError } from "./errors.ts";

/** The 413 of a body past `max` bytes. */
export function tooLarge(max: number): VirgoError {
  return new VirgoError("PAYLOAD_TOO_LARGE", `Body exceeds the limit of ${max} bytes`);
}

/** Refuses at once when the declared length (a `content-length` value, if any) is past `max`. */
export function checkDeclaredLength(declared: string | null, max: number): void {
  if (declared !== null && Number(declared) > max) throw tooLarge(max);
}

/** Reads the whole body, failing with `PAYLOAD_TOO_LARGE` past `max` bytes. */
export async function readLimited(req: Request, max: number): Promise<Uint8Array<ArrayBuffer>> {
  checkDeclaredLength(req.headers.get("content-length"), max);
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge(max);
    }
    chunks.push(value);
  }
  return concatBytes(chunks, size) as Uint8Array<ArrayBuffer>;
}

/**
 * Passes a body stream through, erroring with `PAYLOAD_TOO_LARGE` past `max` bytes; `exceeded()`
 * tells afterwards whether it did, so the caller can answer 413 whatever its reader made of it.
 */
export function limitStream(
  body: ReadableStream<Uint8Array>,
  max: number,
): { stream: ReadableStream<Uint8Array>; exceeded(): boolean } {
  let size = 0;
  const stream = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        size += chunk.byteLength;
        if (size > max) controller.error(tooLarge(max));
        else controller.enqueue(chunk);
      },
    }),
  );
  return { stream, exceeded: () => size > max };
}

/** A body that can be read again from its start. */
export interface Replay {
  /** A fresh reading from the start (earlier ones end); undefined once too much was read. */
  again(): ReadableStream<Uint8Array> | undefined;
}

/**
 * Keeps what is read of `src`, up to `max` bytes, so a call refused by the
 * peer it went to can be sent again. Every reading pulls from the one
 * source in order; only the newest reading gets data. Past the bound what was
 * kept is let go and the body can no longer be replayed.
 */
export function replayable(src: ReadableStream<Uint8Array>, max: number): Replay {
  const reader = src.getReader();
  const kept: Uint8Array[] = [];
  let base = 0; // index in the body of kept[0]
  let bytes = 0;
  let done = false;
  let reading: Promise<void> | undefined;
  let live = 0;
  const readMore = () =>
    reading ??= reader.read().then(({ done: end, value }) => {
      if (end) done = true;
      else {
        kept.push(value);
        bytes += value.byteLength;
      }
    }).finally(() => reading = undefined);
  return {
    again() {
      if (bytes > max || base > 0) return undefined;
      const id = ++live;
      let i = 0;
      return new ReadableStream<Uint8Array>({
        async pull(c) {
          while (id === live && i - base >= kept.length && !done) await readMore();
          if (id !== live || i - base >= kept.length) return c.close();
          c.enqueue(kept[i - base]!);
          i++;
          if (bytes > max) {
            kept.splice(0, i - base);
            base = i;
          }
        },
      }, { highWaterMark: 0 });
    },
  };
}
